"""Warm start end to end: real iris runs where the Trainer starts from the latest blessed model.

1. no blessed model yet: trains from scratch and says so; blessed;
2. the same spec again: starts from run 1's weights (first-epoch loss below run 1's);
3. a different architecture: trains from scratch and says why.
"""
from __future__ import annotations

import json
import os
from contextlib import redirect_stdout
from io import StringIO

import pytest

from modules.curves import HISTORY_FILE
from pipelines import cli
from pipelines.runs.summary import latest_run_summary
from tests.conftest import spec_with


def _run(spec, base, output: str) -> tuple[int, str]:
    spec_file = base / f"{spec.id}-{len(os.listdir(base))}.yaml"
    spec_file.write_text(spec.to_yaml())
    stdout = StringIO()
    with redirect_stdout(stdout):
        code = cli.main(["run", "--spec", str(spec_file), "--output", output])
    return code, stdout.getvalue()


def _first_epoch_loss(model_run_dir: str) -> float:
    with open(os.path.join(model_run_dir, HISTORY_FILE), encoding="utf-8") as handle:
        return json.load(handle)["loss"][0][1]


@pytest.fixture(scope="module")
def warm_runs(tmp_path_factory, iris_spec):
    base = tmp_path_factory.mktemp("warm")
    output = str(base / "run")
    metadata = os.path.join(output, "metadata.sqlite")
    spec = spec_with(iris_spec, training={"epochs": 30, "validation_freq": 10, "warm_start": True},
                     evaluation={"lower_bound": 0.3, "change_threshold": -1.0})
    results = []
    for variant in (spec, spec, spec_with(spec, model={"name": "digits_mlp", "hparams": {
            "input_shape": [4], "hidden": 8, "num_classes": 3, "seed": 1}})):
        code, stdout = _run(variant, base, output)
        results.append((code, stdout, latest_run_summary(metadata)))
    return results


def test_a_first_run_trains_from_scratch_and_says_so(warm_runs):
    code, stdout, summary = warm_runs[0]
    assert code == 0, stdout
    assert "warm start: no blessed model yet: training from scratch" in stdout
    assert summary.blessed is True


def test_a_second_run_starts_from_the_blessed_models_weights(warm_runs):
    (_, _, first), (code, stdout, second) = warm_runs[:2]
    assert code == 0, stdout
    assert "Trainer" in second.executed
    assert "warm start: started from the weights of the blessed model " in stdout
    assert _first_epoch_loss(second.model_run_dir) < _first_epoch_loss(first.model_run_dir)


def test_a_changed_architecture_trains_from_scratch_and_says_why(warm_runs):
    code, stdout, summary = warm_runs[2]
    assert code == 0, stdout
    assert "warm start: the architecture changed (the blessed model's variables have shapes [[4, 3], [3]]" in stdout
    assert "training from scratch" in stdout and "Trainer" in summary.executed
