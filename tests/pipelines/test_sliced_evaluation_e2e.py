"""Sliced evaluation end to end: per-class and per-bucket metrics of a real iris run, checked by
hand against the trained model on the eval split, and per-slice bounds that fail the gate while
the overall metric passes. The run prints the worst slice; the report lists every slice, worst
first."""
from __future__ import annotations

import glob
import os
from contextlib import redirect_stdout
from html import escape
from io import StringIO

import numpy as np
import pytest
import tensorflow as tf

from pipelines import cli
from pipelines.data.predictions import predict, serving_signature
from pipelines.names import EXAMPLE_GEN_ID, TRAINER_ID
from pipelines.runs.summary import latest_output, latest_run_summary
from tests.conftest import spec_with

ACCURACY = "sparse_categorical_accuracy"
BUCKETS = [0.8, 1.7]


def _bucket(width: float) -> str:
    return "< 0.8" if width < 0.8 else "[0.8, 1.7)" if width < 1.7 else ">= 1.7"


@pytest.fixture(scope="module")
def sliced_run(tmp_path_factory, iris_spec):
    """Iris trained briefly (20 epochs: not perfect on every class), gated overall at 0.3, per class
    and per petal_width bucket at 0.999."""
    base = tmp_path_factory.mktemp("sliced")
    spec = spec_with(iris_spec, training={"epochs": 20, "validation_freq": 10},
                     evaluation={"lower_bound": 0.3, "slices": [
                         {"by": "label", "lower_bound": 0.999},
                         {"by": "petal_width", "buckets": BUCKETS, "lower_bound": 0.999}]})
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


def _eval_split(metadata_path: str) -> tuple[tuple[bytes, ...], np.ndarray, np.ndarray]:
    examples = latest_output(metadata_path, (EXAMPLE_GEN_ID,), "Examples")
    files = sorted(glob.glob(os.path.join(examples.uri, "Split-eval", "*")))
    records = tuple(record.numpy() for record in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    parsed = [tf.train.Example.FromString(r).features.feature for r in records]
    labels = np.array([feature["species"].int64_list.value[0] for feature in parsed])
    buckets = np.array([_bucket(feature["petal_width"].float_list.value[0]) for feature in parsed])
    return records, labels, buckets


def test_per_class_accuracy_matches_the_model_on_the_eval_split(sliced_run):
    code, stdout, summary, output, _ = sliced_run
    assert code == 0, stdout
    metadata_path = os.path.join(output, "metadata.sqlite")
    records, labels, buckets = _eval_split(metadata_path)
    model = latest_output(metadata_path, (TRAINER_ID,), "Model")
    predicted = predict(serving_signature(os.path.join(model.uri, "Format-Serving")), records).argmax(axis=1)
    slices = {f"species={c}": labels == c for c in np.unique(labels)}
    slices.update({f"petal_width={b}": buckets == b for b in np.unique(buckets)})
    assert set(summary.slice_metrics) == set(slices)
    for name, members in slices.items():
        by_hand = float(np.mean(predicted[members] == labels[members]))
        assert summary.slice_metrics[name][ACCURACY] == pytest.approx(by_hand, abs=1e-6), name
        assert summary.slice_metrics[name]["example_count"] == np.sum(members), name
    assert summary.metrics[ACCURACY] == pytest.approx(float(np.mean(predicted == labels)), abs=1e-6)


def test_a_class_below_its_bound_fails_the_gate_while_the_overall_metric_passes(sliced_run):
    code, stdout, summary, output, _ = sliced_run
    worst_name, worst = summary.slices_worst_first(ACCURACY, higher_is_better=True)[0]
    assert worst < 0.999
    assert summary.metrics[ACCURACY] >= 0.3
    assert summary.blessed is False and summary.pushed_destination is None
    failing = {name for name, metrics in summary.slice_metrics.items() if metrics[ACCURACY] < 0.999}
    assert {failure.split(":")[0].removeprefix("slice ") for failure in summary.validation_failures} == failing
    assert any(name.startswith("petal_width=") for name in failing)  # the bucket bounds gate too
    assert f"worst slice: {worst_name}: {ACCURACY} = {worst:.4f} (of {len(summary.slice_metrics)} slices)" in stdout
    assert "blessed: no (slice " in stdout and f"slice {worst_name}: {ACCURACY} {worst:.4f}, expected >= 0.999" in stdout


def test_the_report_lists_the_slices_worst_first(sliced_run):
    *_, summary, _, page = sliced_run
    assert "Slices, worst first" in page
    order = [name for name, _ in summary.slices_worst_first(ACCURACY, higher_is_better=True)]
    positions = [page.index(f"<td>{escape(name)}</td>") for name in order]
    assert positions == sorted(positions)
