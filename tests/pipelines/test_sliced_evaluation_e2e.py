"""Sliced evaluation end to end: per-class metrics of a real iris run, checked by hand against the
trained model on the eval split, and a per-class bound that fails the gate while the overall
metric passes. The run prints the worst slice; the report lists every slice, worst first."""
from __future__ import annotations

import glob
import os
from contextlib import redirect_stdout
from io import StringIO

import numpy as np
import pytest
import tensorflow as tf

from pipelines import cli
from pipelines.names import EXAMPLE_GEN_ID, TRAINER_ID
from pipelines.predictions import predict
from pipelines.summary import latest_output, latest_run_summary
from tests.conftest import spec_with

ACCURACY = "sparse_categorical_accuracy"


@pytest.fixture(scope="module")
def sliced_run(tmp_path_factory, iris_spec):
    """Iris trained briefly (20 epochs: not perfect on every class), gated overall at 0.3 and
    per class at 0.999."""
    base = tmp_path_factory.mktemp("sliced")
    spec = spec_with(iris_spec, training={"epochs": 20, "validation_freq": 10},
                     evaluation={"lower_bound": 0.3, "slices": [{"by": "label", "lower_bound": 0.999}]})
    spec_file, output = base / "iris_sliced.yaml", str(base / "run")
    spec_file.write_text(spec.to_yaml())
    stdout = StringIO()
    with redirect_stdout(stdout):
        code = cli.main(["run", "--spec", str(spec_file), "--output", output])
    report = StringIO()
    with redirect_stdout(report):
        report_code = cli.main(["report", "--spec", str(spec_file), "--output", output,
                                "--to", str(base / "report.html")])
    html = (base / "report.html").read_text(encoding="utf-8") if report_code == 0 else ""
    return code, stdout.getvalue(), latest_run_summary(os.path.join(output, "metadata.sqlite")), output, html


def _eval_split(metadata_path: str) -> tuple[tuple[bytes, ...], np.ndarray]:
    examples = latest_output(metadata_path, (EXAMPLE_GEN_ID,), "Examples")
    files = sorted(glob.glob(os.path.join(examples.uri, "Split-eval", "*")))
    records = tuple(record.numpy() for record in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    labels = np.array([tf.train.Example.FromString(r).features.feature["species"].int64_list.value[0] for r in records])
    return records, labels


def test_per_class_accuracy_matches_the_model_on_the_eval_split(sliced_run):
    code, stdout, summary, output, _ = sliced_run
    assert code == 0, stdout
    metadata_path = os.path.join(output, "metadata.sqlite")
    records, labels = _eval_split(metadata_path)
    model = latest_output(metadata_path, (TRAINER_ID,), "Model")
    predicted = predict(os.path.join(model.uri, "Format-Serving"), records).argmax(axis=1)
    assert set(summary.slice_metrics) == {f"species={c}" for c in np.unique(labels)}
    for species in np.unique(labels):
        by_hand = float(np.mean(predicted[labels == species] == species))
        assert summary.slice_metrics[f"species={species}"][ACCURACY] == pytest.approx(by_hand, abs=1e-6)
        assert summary.slice_metrics[f"species={species}"]["example_count"] == np.sum(labels == species)
    assert summary.metrics[ACCURACY] == pytest.approx(float(np.mean(predicted == labels)), abs=1e-6)


def test_a_class_below_its_bound_fails_the_gate_while_the_overall_metric_passes(sliced_run):
    code, stdout, summary, output, _ = sliced_run
    worst_name, worst = summary.slices_worst_first(ACCURACY, higher_is_better=True)[0]
    assert worst < 0.999
    assert summary.metrics[ACCURACY] >= 0.3
    assert summary.blessed is False and summary.pushed_destination is None
    assert any(failure.startswith(f"slice {worst_name}:") for failure in summary.validation_failures)
    assert f"worst slice: {worst_name}: {ACCURACY} = {worst:.4f} (of 3 slices)" in stdout
    assert "blessed: no (slice species=" in stdout


def test_the_report_lists_the_slices_worst_first(sliced_run):
    *_, summary, _, html = sliced_run
    assert "Slices, worst first" in html
    order = [name for name, _ in summary.slices_worst_first(ACCURACY, higher_is_better=True)]
    positions = [html.index(f"<td>{name}</td>") for name in order]
    assert positions == sorted(positions)
