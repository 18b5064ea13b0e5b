"""Course data sources: where each one's files are and how to read them into records.

A source knows nothing of TFX: `read(path)` yields plain dicts, and `components.example_gen`
turns them into `tf.Example` splits. Every reading error names the file, the line and what was
expected, so a bad file never surfaces as a stack trace deep inside Beam.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Callable, Iterator, Union

from modules.features import IRIS, FeatureSet

Value = Union[float, int]
Record = dict[str, Value]


class DataFileError(ValueError):
    """A data file that cannot be read as its source's format; the message names file and line."""


@dataclass(frozen=True)
class DataSource:
    """One course data set: its features, its default file and its reader."""

    id: str
    description: str
    feature_set: FeatureSet
    default_path: Callable[[], str]
    read: Callable[[str], Iterator[Record]]


def _sklearn_data_file(name: str) -> str:
    """Path of a CSV that scikit-learn ships (what `sklearn.datasets.load_*` reads)."""
    import sklearn.datasets  # noqa: PLC0415  (only sources that need it pay the import)

    return os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", name)


def read_sklearn_csv(path: str, feature_set: FeatureSet) -> Iterator[Record]:
    """Reads scikit-learn's bundled CSV format.

    The first line is `n_samples,n_features,class names...`; each later line holds the features
    and an integer class index. The header's counts are checked against the rows.
    """
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as error:
        raise DataFileError(f"{path}: cannot open ({error.strerror})") from error
    with handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        n_features = len(feature_set.features)
        if header is None or len(header) < 2 or not header[0].isdigit() or header[1] != str(n_features):
            raise DataFileError(
                f"{path}:1: expected the header 'n_samples,{n_features},class names...', got {header!r}"
            )
        n_samples, class_names = int(header[0]), header[2:]
        count = 0
        for line_number, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != n_features + 1:
                raise DataFileError(
                    f"{path}:{line_number}: expected {n_features + 1} fields "
                    f"({', '.join(feature_set.all_keys)}), got {len(row)}"
                )
            record: Record = {}
            for name, text in zip(feature_set.features, row[:-1], strict=True):
                try:
                    record[name] = float(text)
                except ValueError:
                    raise DataFileError(
                        f"{path}:{line_number}: field {name!r} expected a number, got {text!r}"
                    ) from None
            label_text = row[-1]
            if not label_text.isdigit() or int(label_text) >= max(len(class_names), 1):
                raise DataFileError(
                    f"{path}:{line_number}: field {feature_set.label!r} expected a class index "
                    f"0..{len(class_names) - 1}, got {label_text!r}"
                )
            record[feature_set.label] = int(label_text)
            count += 1
            yield record
        if count != n_samples:
            raise DataFileError(f"{path}: header announces {n_samples} rows, the file has {count}")


IRIS_SOURCE = DataSource(
    id="iris",
    description="150 iris flowers, 4 measurements, 3 species (the copy scikit-learn ships)",
    feature_set=IRIS,
    default_path=lambda: _sklearn_data_file("iris.csv"),
    read=lambda path: read_sklearn_csv(path, IRIS),
)

SOURCES: dict[str, DataSource] = {source.id: source for source in (IRIS_SOURCE,)}


def get_source(source_id: str) -> DataSource:
    """The source `source_id`; the error lists the known ones."""
    try:
        return SOURCES[source_id]
    except KeyError:
        raise KeyError(
            f"data source {source_id!r} unknown; expected one of: {', '.join(sorted(SOURCES))}"
        ) from None
