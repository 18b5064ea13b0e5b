"""TFDV's Anomalies protos as rows a person reads: feature, kind, short description, where."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tensorflow_metadata.proto.v0 import anomalies_pb2, path_pb2

AnomalyType = anomalies_pb2.AnomalyInfo.Type
MeasurementType = anomalies_pb2.DriftSkewInfo.Measurement.Type
DATASET = "(dataset)"


def anomaly_kinds() -> list[str]:
    """Every anomaly kind TFDV can report (AnomalyInfo.Type names)."""
    return [name for name in AnomalyType.keys() if name != "UNKNOWN_TYPE"]


@dataclass(frozen=True)
class AnomalyRow:
    """One anomaly: which feature, which kind (`SCHEMA_MISSING_COLUMN`), what TFDV says, and
    which data it was found in (`train`, `eval`, `serving`, or the drift/skew comparison)."""

    feature: str
    kind: str
    description: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.feature}: {self.kind}: {self.description}"


@dataclass(frozen=True)
class DistanceRow:
    """One feature's drift or skew distance against its threshold."""

    feature: str
    measure: str
    distance: float
    threshold: float

    @property
    def exceeded(self) -> bool:
        return self.distance > self.threshold


def _path_name(path: path_pb2.Path) -> str:
    return ".".join(path.step)


def anomaly_rows(anomalies: anomalies_pb2.Anomalies, where: str) -> list[AnomalyRow]:
    rows = []
    for feature, info in sorted(anomalies.anomaly_info.items()):
        for reason in info.reason or [None]:
            if reason is None:
                rows.append(AnomalyRow(feature, "UNKNOWN_TYPE", info.short_description or info.description, where))
                continue
            description = reason.short_description
            if reason.description and reason.description != description:
                description = f"{description}: {reason.description}" if description else reason.description
            rows.append(AnomalyRow(feature, AnomalyType.Name(reason.type), description, where))
    if anomalies.HasField("dataset_anomaly_info"):
        for reason in anomalies.dataset_anomaly_info.reason:
            rows.append(AnomalyRow(DATASET, AnomalyType.Name(reason.type), reason.description, where))
    return rows


def distance_rows(anomalies: anomalies_pb2.Anomalies, kind: str = "drift") -> list[DistanceRow]:
    """The drift (or skew) measurement of every compared feature, alphabetical."""
    rows = []
    for info in anomalies.drift_skew_info:
        measurements = info.drift_measurements if kind == "drift" else info.skew_measurements
        for measurement in measurements:
            rows.append(
                DistanceRow(_path_name(info.path), MeasurementType.Name(measurement.type),
                            measurement.value, measurement.threshold)
            )
    return sorted(rows, key=lambda row: row.feature)


def errors_and_warnings(rows: Iterable[AnomalyRow], warn_on: Sequence[str]) -> tuple[list[AnomalyRow], list[AnomalyRow]]:
    """Splits rows into those that stop a run and those the spec marks as warnings."""
    rows = list(rows)
    return [r for r in rows if r.kind not in warn_on], [r for r in rows if r.kind in warn_on]


class DataAnomaliesError(RuntimeError):
    """The data a model would be trained on has anomalies: the run stops before Transform."""

    def __init__(self, rows: Sequence[AnomalyRow], report: str | None = None) -> None:
        self.rows = tuple(rows)
        self.report = report
        lines = [f"{len(self.rows)} data anomal{'y' if len(self.rows) == 1 else 'ies'}; "
                 "nothing was trained or pushed"]
        lines += [f"  - {row}" for row in self.rows]
        if report:
            lines.append(f"  report: {report}")
        super().__init__("\n".join(lines))
