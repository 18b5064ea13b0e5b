"""Tuning end to end: TFX's Tuner searches the spec's space, and the Trainer trains the winner.

Iris with the digits_mlp network (4 -> hidden -> 3): the search is over the hidden width and the
learning rate, so the trained model's own variable shapes tell which width reached the Trainer."""
from __future__ import annotations

import json
import os
from contextlib import redirect_stdout
from io import StringIO

import pytest

from modules.warm_start import ARCHITECTURE_FILE, WEIGHTS_DIR
from pipelines import cli
from pipelines.names import TRAINER_ID, TUNER_ID
from pipelines.runs.summary import latest_output, latest_run_summary
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import PipelineSpec
from tests.conftest import spec_with

TUNING = {"algorithm": "random", "objective": "val_sparse_categorical_accuracy", "direction": "max", "trials": 3,
          "epochs_per_trial": 3, "seed": 3,
          "space": {"hidden": {"kind": "choice", "values": [2, 5, 11]},
                    "learning_rate": {"kind": "float", "min": 0.01, "max": 0.3, "log": True}}}


def _with_tuning(spec: PipelineSpec, tuning: dict) -> PipelineSpec:
    return PipelineSpec.from_dict({**spec.model_dump(mode="json"), "tuning": tuning})


@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory, iris_spec):
    base = tmp_path_factory.mktemp("tuned")
    spec = spec_with(iris_spec, model={"name": "digits_mlp", "hparams": {"input_shape": [4], "hidden": 7,
                                                                         "num_classes": 3, "seed": 1}},
                     training={"epochs": 5, "validation_freq": 1}, evaluation={"lower_bound": 0.0})
    spec_file, output = base / "iris_tuned.yaml", str(base / "run")
    spec_file.write_text(_with_tuning(spec, TUNING).to_yaml())
    stdout = StringIO()
    with redirect_stdout(stdout):
        code = cli.main(["run", "--spec", str(spec_file), "--output", output])
    return code, stdout.getvalue(), output


def test_the_best_trials_hyperparameters_reach_the_trainer(tuned_run):
    code, stdout, output = tuned_run
    assert code == 0, stdout
    metadata = os.path.join(output, "metadata.sqlite")
    summary = latest_run_summary(metadata)
    assert TUNER_ID in summary.executed and TRAINER_ID in summary.executed
    assert len(summary.tuning_trials) == 3
    best = max(summary.tuning_trials, key=lambda trial: trial["score"])
    assert summary.tuned_hyperparameters == {"hidden": best["hidden"], "learning_rate": best["learning_rate"]}
    model = latest_output(metadata, (TRAINER_ID,), "Model")
    with open(os.path.join(model.uri, WEIGHTS_DIR, ARCHITECTURE_FILE), encoding="utf-8") as handle:
        shapes = json.load(handle)["shapes"]
    assert shapes == [[4, best["hidden"]], [best["hidden"]], [best["hidden"], 3], [3]]  # not the spec's 7
    assert f"tuning: 3 trials; trained with hidden={best['hidden']}" in stdout
    assert "trial " in stdout and "val_sparse_categorical_accuracy" in stdout


def test_runs_and_the_report_show_the_trials_and_the_winner(tuned_run, tmp_path, capsys):
    _, _, output = tuned_run
    summary = latest_run_summary(os.path.join(output, "metadata.sqlite"))
    spec_file = os.path.join(os.path.dirname(output), "iris_tuned.yaml")
    assert cli.main(["runs", "--spec", spec_file, "--output", output]) == 0
    assert f"tuned over 3 trials: hidden={summary.tuned_hyperparameters['hidden']}" in capsys.readouterr().out
    report = tmp_path / "report.html"
    assert cli.main(["report", "--spec", spec_file, "--output", output, "--to", str(report)]) == 0
    html = report.read_text(encoding="utf-8")
    assert "<h2>Tuning</h2>" in html and f"hidden={summary.tuned_hyperparameters['hidden']}" in html
    assert all(f"<td>{trial['trial_id']}</td>" in html for trial in summary.tuning_trials)


def test_a_search_space_must_name_the_models_hyperparameters(iris_spec):
    with pytest.raises(SpecError) as caught:
        _with_tuning(iris_spec, {**TUNING, "objective": "val_accuracy",
                                 "space": {"hiden": {"kind": "choice", "values": [1]}}})
    message = str(caught.value)
    assert "tuning.space.hiden: expected a hyperparameter of model 'iris_softmax' or learning_rate" in message
    assert "tuning.objective: expected a metric the Trainer logs: loss, sparse_categorical_accuracy, val_loss, " \
           "val_sparse_categorical_accuracy; got 'val_accuracy'" in message


def test_search_values_the_hyperparameter_refuses_are_spec_errors(iris_spec):
    """Found before a run, not as a failed trial's traceback."""
    with pytest.raises(SpecError) as caught:
        _with_tuning(iris_spec, {**TUNING, "space": {"l2": {"kind": "choice", "values": [0.01, -1.0]},
                                                     "learning_rate": {"kind": "float", "min": -0.1, "max": 0.3}}})
    message = str(caught.value)
    assert "tuning.space.l2: candidate -1.0 is not a valid l2: Input should be greater than or equal to 0" in message
    assert "tuning.space.learning_rate: candidate -0.1 is not a valid learning_rate: Input should be greater than 0" \
        in message
    assert "candidate 0.01 " not in message and "candidate 0.3 " not in message
