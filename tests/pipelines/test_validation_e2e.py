"""The validation gate end to end: a drifted span stops the pipeline before Transform and Trainer,
and the model pushed from the earlier span stays where it was."""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO

import pytest

from pipelines import cli
from pipelines.runs.summary import latest_run_summary
from tests.components.validation_data import iris_rows, write_iris_source_file
from tests.conftest import spec_with


def _run(spec_file: str, data_dir: str, output: str) -> tuple[int, str]:
    buffer = StringIO()
    with redirect_stdout(buffer):
        code = cli.main(["run", "--spec", spec_file, "--data-dir", data_dir, "--output", output])
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def spans(tmp_path_factory, iris_spec):
    """Span 1 (the real iris data) runs and pushes; span 2 shifts petal_length by 2 std."""
    root = tmp_path_factory.mktemp("spans")
    spec = spec_with(iris_spec, training={"epochs": 50, "validation_freq": 10}, evaluation={"lower_bound": 0.3})
    spec_file = root / "iris_spans.yaml"
    spec_file.write_text(spec.to_yaml())
    data_dir, output = str(root / "data"), str(root / "run")
    rows = iris_rows()
    write_iris_source_file(os.path.join(data_dir, "span-1", "iris.csv"), rows)
    first = _run(str(spec_file), data_dir, output)
    serving_after_first = sorted(os.listdir(os.path.join(output, "serving")))
    first_summary = latest_run_summary(os.path.join(output, "metadata.sqlite"))
    std = (sum((r["petal_length"] - 3.758) ** 2 for r in rows) / len(rows)) ** 0.5
    shifted = [dict(row, petal_length=round(row["petal_length"] + 2 * std, 2)) for row in rows]
    write_iris_source_file(os.path.join(data_dir, "span-2", "iris.csv"), shifted)
    second = _run(str(spec_file), data_dir, output)
    second_summary = latest_run_summary(os.path.join(output, "metadata.sqlite"))
    return first, first_summary, serving_after_first, second, second_summary, output


def test_first_span_passes_validation_and_is_pushed(spans):
    (code, stdout), summary, serving, *_ = spans
    assert code == 0, stdout
    assert summary.span == 1 and summary.blessed is True and len(serving) == 1
    assert "data: no anomalies" in stdout


def test_drifted_span_stops_before_transform_and_keeps_the_pushed_model(spans):
    _, first, serving_before, (code, stdout), summary, output = spans
    assert code == 1
    assert summary.failed == ["ExampleValidator"]
    assert not {"Transform", "Trainer", "Evaluator", "Pusher"} & set(summary.executed)
    assert "data validation failed" in stdout and "nothing trained, nothing pushed" in stdout
    drift_lines = [line for line in stdout.splitlines() if "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH" in line]
    assert drift_lines and all("petal_length" in line and "drift vs span 1" in line for line in drift_lines)
    assert sorted(os.listdir(os.path.join(output, "serving"))) == serving_before
    assert os.path.isdir(first.pushed_destination)
    report = stdout.split("report: ")[1].split()[0]
    assert "ExampleValidator/rejected/" in report
    assert os.path.exists(report) and "petal_length" in open(report, encoding="utf-8").read()
