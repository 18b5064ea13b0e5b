"""One validation of a training set: schema anomalies per split, drift, skew, serving data.

Used by the pipeline's ExampleValidator and by `coursepipe validate` / `drift`, so both report
the same anomalies for the same data. TFDV does the work; this module decides which statistics
meet which schema: every split of the training data in the TRAINING environment, the training
split against the previous span's (drift comparators) and against the serving data (skew
comparators), and the serving data itself in the SERVING environment (where the label may be
missing).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from components.splits import TRAIN_SPLIT
from components.validation.anomalies import AnomalyRow, DistanceRow, anomaly_kinds, anomaly_rows, distance_rows
from components.validation.config import Thresholds
from components.validation.schemas import SERVING, TRAINING, feature_name, with_comparators, with_environments

Statistics = statistics_pb2.DatasetFeatureStatisticsList
SERVING_DATA = "serving"
# What a drift or skew comparison reports (distances over thresholds, a feature missing on one
# side, example counts): kept apart from the schema anomalies of the split itself.
COMPARATOR_KINDS = tuple(kind for kind in anomaly_kinds() if kind.startswith("COMPARATOR_"))


@dataclass
class ValidationOutcome:
    """TFDV's Anomalies per checked data set (split names, `serving`), and readable rows.

    `anomalies["train"]` is what TFDV reports for the training split with both comparisons, the
    proto a TFX ExampleAnomalies artifact holds; `rows` name drift and skew apart.
    """

    anomalies: dict[str, anomalies_pb2.Anomalies] = field(default_factory=dict)
    rows: list[AnomalyRow] = field(default_factory=list)
    drift: list[DistanceRow] = field(default_factory=list)
    skew: list[DistanceRow] = field(default_factory=list)


def _compare(
    statistics: Statistics, schema: schema_pb2.Schema, where: str, **control: Statistics
) -> tuple[anomalies_pb2.Anomalies, list[AnomalyRow], list[DistanceRow]]:
    """One drift or skew comparison: TFDV's anomalies, the comparator rows, the distances."""
    anomalies = tfdv.validate_statistics(statistics, schema, environment=TRAINING, **control)
    rows = [row for row in anomaly_rows(anomalies, where) if row.kind in COMPARATOR_KINDS]
    return anomalies, rows, distance_rows(anomalies, "drift" if "previous_statistics" in control else "skew")


def validate_training_data(
    statistics: dict[str, Statistics],
    schema: schema_pb2.Schema,
    label: str,
    previous: Statistics | None = None,
    drift: Thresholds | None = None,
    serving: Statistics | None = None,
    skew: Thresholds | None = None,
    previous_name: str = "previous span",
) -> ValidationOutcome:
    """Validates each split of `statistics` against `schema`; the training split also against
    `previous` (drift, when both are given) and `serving` (skew, when both are given)."""
    schema = with_environments(schema, label)
    outcome = ValidationOutcome()
    for split, split_statistics in statistics.items():
        compare_previous = split == TRAIN_SPLIT and previous is not None and drift is not None
        compare_serving = split == TRAIN_SPLIT and serving is not None and skew is not None
        compared = with_comparators(schema, drift if compare_previous else None, skew if compare_serving else None)
        outcome.anomalies[split] = tfdv.validate_statistics(
            split_statistics, compared, environment=TRAINING,
            previous_statistics=previous if compare_previous else None,
            serving_statistics=serving if compare_serving else None,
        )
        outcome.rows += [row for row in anomaly_rows(outcome.anomalies[split], split) if row.kind not in COMPARATOR_KINDS]
        if compare_previous:
            _, rows, outcome.drift = _compare(
                split_statistics, with_comparators(schema, drift, None), f"drift vs {previous_name}",
                previous_statistics=previous,
            )
            outcome.rows += rows
        if compare_serving:
            _, rows, outcome.skew = _compare(
                split_statistics, with_comparators(schema, None, skew), "skew vs serving", serving_statistics=serving
            )
            outcome.rows += rows
    if serving is not None:
        outcome.anomalies[SERVING_DATA] = tfdv.validate_statistics(serving, schema, environment=SERVING)
        outcome.rows += anomaly_rows(outcome.anomalies[SERVING_DATA], SERVING_DATA)
    return outcome


def validate_data(statistics: Statistics, schema: schema_pb2.Schema, label: str, where: str) -> ValidationOutcome:
    """Validates one data set (`coursepipe validate`): as training data when it holds the label,
    else as serving data (the label is TRAINING-only)."""
    schema = with_environments(schema, label)
    names = {feature_name(stats) for stats in statistics.datasets[0].features}
    environment = TRAINING if label in names else SERVING
    anomalies = tfdv.validate_statistics(statistics, schema, environment=environment)
    return ValidationOutcome(anomalies={where: anomalies}, rows=anomaly_rows(anomalies, where))


BASELINE_DATA, CURRENT_DATA = "baseline", "current"


def compare_data(
    baseline: Statistics, current: Statistics, schema: schema_pb2.Schema, label: str, thresholds: Thresholds
) -> ValidationOutcome:
    """Drift of `current` against `baseline` (`coursepipe drift`): distances of every compared
    feature, an anomaly row for each above its threshold, and every way the two data sets stop
    being comparable: each side's schema anomalies (a missing column, strings where numbers
    belong, a new column) and a feature or type found on one side only. A distance can only be
    computed for a feature both sides hold with the same type, so without those rows a broken
    feature would silently drop out of the table."""
    compared = with_comparators(with_environments(schema, label), thresholds, None)
    anomalies, rows, distances = _compare(current, compared, "drift vs baseline", previous_statistics=baseline)
    outcome = ValidationOutcome(anomalies={"drift": anomalies}, rows=rows, drift=distances)
    for where, statistics in ((BASELINE_DATA, baseline), (CURRENT_DATA, current)):
        checked = validate_data(statistics, schema, label, where)
        outcome.anomalies[where] = checked.anomalies[where]
        outcome.rows += checked.rows
    outcome.rows += feature_differences(baseline, current, {row.feature for row in outcome.rows})
    return outcome


def _feature_types(statistics: Statistics) -> dict[str, str]:
    return {
        feature_name(stats): statistics_pb2.FeatureNameStatistics.Type.Name(stats.type)
        for stats in statistics.datasets[0].features
    }


def feature_differences(baseline: Statistics, current: Statistics, reported: set[str]) -> list[AnomalyRow]:
    """Features one side holds and the other lacks, or holds with another type, that no schema
    anomaly already names (a schema that leaves a feature optional would not)."""
    before, after = _feature_types(baseline), _feature_types(current)
    rows = []
    for name in sorted(set(before) | set(after)):
        if name in reported:
            continue
        if name not in after:
            rows.append(AnomalyRow(name, "SCHEMA_MISSING_COLUMN", "in the baseline, not in the current data", CURRENT_DATA))
        elif name not in before:
            rows.append(AnomalyRow(name, "SCHEMA_NEW_COLUMN", "in the current data, not in the baseline", CURRENT_DATA))
        elif before[name] != after[name]:
            rows.append(AnomalyRow(name, "UNEXPECTED_DATA_TYPE",
                                   f"{before[name]} in the baseline, {after[name]} in the current data", CURRENT_DATA))
    return rows
