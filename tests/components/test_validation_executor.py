"""The gating ExampleValidator's executor on hand-made artifacts: what it writes, when it fails."""
from __future__ import annotations

import json
import os

import pytest
from tfx.types import standard_artifacts
from tfx.types.artifact_utils import encode_split_names

from components.example_gen import to_example
from components.sources.tabular import IRIS
from components.validation.anomalies import DataAnomaliesError
from components.validation.component import (
    ANOMALIES_FILE,
    BLESSED_KEY,
    Executor,
    gate_config,
    previous_span_statistics,
)
from components.validation.config import DriftConfig, SkewConfig
from components.validation.data_forms import statistics_of
from components.validation.html_view import REPORT_FILE
from tests.components.validation_data import COLUMNS, iris_schema_file, sampled_rows, write_csv


def _statistics_artifact(root: str, name: str, rows: list[dict], span: int, artifact_id: int):
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = os.path.join(root, name)
    artifact.id = artifact_id
    artifact.span = span
    artifact.split_names = encode_split_names(["train", "eval"])
    statistics = statistics_of([to_example(r, IRIS).SerializeToString() for r in rows], name)
    for split in ("train", "eval"):
        os.makedirs(os.path.join(artifact.uri, f"Split-{split}"))
        with open(os.path.join(artifact.uri, f"Split-{split}", "FeatureStats.pb"), "wb") as handle:
            handle.write(statistics.SerializeToString())  # StatisticsGen's file: a binary DatasetFeatureStatisticsList
    return artifact


def _schema_artifact(root: str):
    artifact = standard_artifacts.Schema()
    artifact.uri = os.path.join(root, "schema")
    os.makedirs(artifact.uri)
    iris_schema_file(os.path.join(artifact.uri, "schema.pbtxt"))
    return artifact


def _run(tmp_path, current_rows, previous_rows=None, warn_on=(), skew=None):
    root = str(tmp_path)
    current = _statistics_artifact(root, "current", current_rows, span=2, artifact_id=20)
    inputs = {"statistics": [current], "schema": [_schema_artifact(root)], "previous_statistics": []}
    if previous_rows is not None:
        inputs["previous_statistics"] = [
            _statistics_artifact(root, "older", previous_rows, span=1, artifact_id=10),
            current,  # the resolver may hand the current statistics over too: never compared with itself
        ]
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri = os.path.join(root, "pipeline", "ExampleValidator", "anomalies", "7")
    config = gate_config(IRIS.label, "iris", {}, list(warn_on), DriftConfig(), skew)
    Executor().Do(inputs, {"anomalies": [anomalies]}, {"validation_config": config})
    return anomalies


def test_clean_span_passes_and_writes_the_stock_layout(tmp_path):
    rows = sampled_rows(600, seed=1)
    anomalies = _run(tmp_path, rows, previous_rows=sampled_rows(600, seed=2))
    assert json.loads(anomalies.split_names) == ["train", "eval"] and anomalies.span == 2
    assert anomalies.get_json_value_custom_property(BLESSED_KEY) == {"train": 1, "eval": 1}
    for split in ("train", "eval"):
        assert os.path.exists(os.path.join(anomalies.uri, f"Split-{split}", ANOMALIES_FILE))
    assert os.path.exists(os.path.join(anomalies.uri, REPORT_FILE))


def test_drift_fails_and_keeps_the_rejection_beside_the_artifacts(tmp_path):
    with pytest.raises(DataAnomaliesError) as error:
        _run(tmp_path, sampled_rows(600, seed=1, shift={"sepal_width": 1.5}), previous_rows=sampled_rows(600, seed=2))
    (row,) = error.value.rows
    assert (row.feature, row.kind, row.where) == ("sepal_width", "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH", "drift vs span 1")
    rejected = os.path.join(str(tmp_path), "pipeline", "ExampleValidator", "rejected", "7")
    assert error.value.report == os.path.join(rejected, REPORT_FILE) and os.path.exists(error.value.report)
    assert os.path.exists(os.path.join(rejected, "Split-train", ANOMALIES_FILE))


def test_warned_kinds_pass_with_the_anomaly_recorded(tmp_path):
    anomalies = _run(tmp_path, sampled_rows(600, seed=1, shift={"sepal_width": 1.5}),
                     previous_rows=sampled_rows(600, seed=2), warn_on=["COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH"])
    assert anomalies.get_json_value_custom_property(BLESSED_KEY)["train"] == 0


def test_first_span_has_nothing_to_drift_from(tmp_path):
    assert _run(tmp_path, sampled_rows(600, seed=1, shift={"sepal_width": 3.0}), previous_rows=None)


def test_serving_data_in_csv_missing_a_feature_fails_the_gate(tmp_path):
    serving = write_csv(str(tmp_path / "serving.csv"), sampled_rows(300, seed=3),
                        [c for c in COLUMNS if c not in ("petal_width", IRIS.label)])
    with pytest.raises(DataAnomaliesError) as error:
        _run(tmp_path, sampled_rows(600, seed=1), skew=SkewConfig(data=serving))
    assert {(r.where, r.feature, r.kind) for r in error.value.rows} == {
        ("serving", "petal_width", "SCHEMA_MISSING_COLUMN"),
        ("skew vs serving", "petal_width", "COMPARATOR_CONTROL_DATA_MISSING"),
    }


def _statistics(artifact_id: int, span: int | None, split_names: str = '["train", "eval"]'):
    artifact = standard_artifacts.ExampleStatistics()
    artifact.id = artifact_id
    if span is not None:
        artifact.span, artifact.split_names = span, split_names
    return artifact


def test_previous_span_is_the_newest_older_one():
    current = _statistics(9, 3)
    candidates = [_statistics(1, 1), _statistics(4, 2), _statistics(3, 2), _statistics(8, 3), current,
                  _statistics(10, 4)]
    assert previous_span_statistics(candidates, current).id == 4
    assert previous_span_statistics([_statistics(8, 3), current], current) is None


def test_previous_span_is_never_transforms_statistics():
    """Transform's pre/post-transform statistics have the same type, no span and no splits: on a
    re-run of span 1 they were taken as span 0's, and the validator failed loading their train split."""
    current = _statistics(9, 1)
    transforms = [_statistics(11, None), _statistics(12, None)]
    assert previous_span_statistics([*transforms, current], current) is None
    assert previous_span_statistics([_statistics(2, 0), *transforms], current).id == 2
