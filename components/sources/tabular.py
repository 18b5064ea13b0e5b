"""Tabular sources: iris and digits (scikit-learn's files), Boston housing (Keras' npz or mlxtend's CSV)."""
from __future__ import annotations

import csv
import io
import zipfile
from typing import Iterator, Sequence

import numpy as np

from components.shipped import package_data_dir
from components.sources.base import (
    DataFileError,
    DataSource,
    Record,
    SourceRecords,
    check_label,
    check_same_length,
    keras_cache_dir,
)
from components.sources.safe_files import read_maybe_gzip
from components.splits import ALL_RECORDS, ShuffleSplit, SklearnSplit
from modules.features import SCALAR_FLOAT, Feature, FeatureSet

IRIS = FeatureSet(
    features=("sepal_length", "sepal_width", "petal_length", "petal_width"),
    label="species",
    num_classes=3,
)
DIGITS = FeatureSet(
    features=("pixels",), label="digit", num_classes=10, kinds={"pixels": Feature("float", (8, 8))}
)
BOSTON_HOUSING = FeatureSet(
    features=(
        "crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b",
        "lstat",
    ),
    label="medv",
    kinds={"medv": SCALAR_FLOAT},
)


def only_file(files: Sequence[str], source_id: str) -> str:
    """The single file a one-file source reads."""
    if len(files) != 1:
        raise DataFileError(f"{source_id}: expected exactly one data file, got {len(files)}: {list(files)}")
    return files[0]


def read_text(path: str) -> str:
    """The text of `path` (gunzipped if needed), errors naming the file.

    UTF-8 with or without a byte-order mark: Excel's "CSV UTF-8" starts with one, which would
    otherwise become part of the first column's name. A NUL byte is no text (Python's csv module
    would stop with "line contains NUL"): a data error naming where.
    """
    try:
        text = read_maybe_gzip(path).decode("utf-8-sig")
    except OSError as error:
        raise DataFileError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: byte {error.start}: expected UTF-8 text") from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise DataFileError(f"{path}:{line}: a NUL byte; expected text, not a binary file")
    return text


def numeric_rows(path: str, text: str, names: Sequence[str], first_line: int = 1) -> Iterator[tuple[int, list[float]]]:
    """(line number, values) of each non-empty CSV row holding exactly `len(names)` numbers."""
    for line_number, row in enumerate(csv.reader(io.StringIO(text)), start=first_line):
        if not row:
            continue
        if len(row) != len(names):
            raise DataFileError(
                f"{path}:{line_number}: expected {len(names)} fields ({', '.join(names)}), got {len(row)}"
            )
        values = []
        for name, cell in zip(names, row, strict=True):
            try:
                values.append(float(cell))
            except ValueError:
                raise DataFileError(
                    f"{path}:{line_number}: field {name!r} expected a number, got {cell!r}"
                ) from None
        yield line_number, values


def class_index(path: str, line_number: int, value: float, features: FeatureSet) -> int:
    if value != int(value):
        raise DataFileError(
            f"{path}:{line_number}: field {features.label!r} expected a class index, got {value}"
        )
    return check_label(path, f"line {line_number}", int(value), features.num_classes, features.label)


def read_sklearn_csv(path: str, features: FeatureSet) -> list[Record]:
    """scikit-learn's bundled format: a header `n_samples,n_features,class names...`, then rows.

    The header's counts are checked against the rows.
    """
    text = read_text(path)
    header_line, _, body = text.partition("\n")
    header = header_line.strip().split(",")
    n_features = len(features.features)
    if len(header) < 2 or not header[0].isdigit() or header[1] != str(n_features):
        raise DataFileError(
            f"{path}:1: expected the header 'n_samples,{n_features},class names...', got {header!r}"
        )
    records = []
    for line_number, values in numeric_rows(path, body, features.all_keys, first_line=2):
        record: Record = dict(zip(features.features, values[:-1], strict=True))
        record[features.label] = class_index(path, line_number, values[-1], features)
        records.append(record)
    if len(records) != int(header[0]):
        raise DataFileError(f"{path}: header announces {header[0]} rows, the file has {len(records)}")
    return records


def read_iris(files: Sequence[str], _options: object) -> SourceRecords:
    return {ALL_RECORDS: read_sklearn_csv(only_file(files, "iris"), IRIS)}


def read_digits(files: Sequence[str], _options: object) -> SourceRecords:
    """scikit-learn's `digits.csv.gz`: 64 pixel values (0..16) and the digit on each line."""
    path = only_file(files, "digits")
    names = [f"pixel_{i}" for i in range(64)] + [DIGITS.label]
    records = []
    for line_number, values in numeric_rows(path, read_text(path), names):
        records.append({
            "pixels": np.asarray(values[:-1], dtype=np.float32),
            DIGITS.label: class_index(path, line_number, values[-1], DIGITS),
        })
    return {ALL_RECORDS: records}


def _boston_from_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
    except KeyError as error:
        raise DataFileError(f"{path}: expected arrays 'x' and 'y' (Keras' format), missing {error}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataFileError(f"{path}: not a readable .npz file ({error})") from None
    return x, y


def read_boston_housing(files: Sequence[str], _options: object) -> SourceRecords:
    """Keras' `boston_housing.npz` (x: 506 x 13, y: 506) or mlxtend's CSV (13 features, then MEDV)."""
    path = only_file(files, "boston_housing")
    names = BOSTON_HOUSING.all_keys
    if path.endswith(".npz"):
        x, y = _boston_from_npz(path)
        check_same_length(path, x, y, "rows")
        if x.ndim != 2 or x.shape[1] != len(BOSTON_HOUSING.features):
            raise DataFileError(f"{path}: array 'x' expected shape (n, 13), got {x.shape}")
        rows = np.column_stack([x, y]).tolist()
    else:
        rows = [values for _, values in numeric_rows(path, read_text(path), names)]
    return {ALL_RECORDS: [dict(zip(names, row, strict=True)) for row in rows]}


IRIS_SOURCE = DataSource(
    id="iris",
    description="150 iris flowers, 4 measurements, 3 species (the copy scikit-learn ships)",
    features=lambda _: IRIS,
    read=read_iris,
    default_split=ShuffleSplit(eval_fraction=0.2, seed=116),
    layouts=("iris.csv",),
    default_dirs=lambda: [package_data_dir("sklearn.datasets", "data")],
    shipped_in=("sklearn.datasets", "data"),
    how_to_get="scikit-learn ships it (sklearn/datasets/data/iris.csv).",
)

DIGITS_SOURCE = DataSource(
    id="digits",
    description="1,797 8x8 handwritten digits, 10 classes (scikit-learn's load_digits)",
    features=lambda _: DIGITS,
    read=read_digits,
    default_split=SklearnSplit(test_size=0.2, random_state=1),
    layouts=("digits.csv.gz", "digits.csv"),
    default_dirs=lambda: [package_data_dir("sklearn.datasets", "data")],
    shipped_in=("sklearn.datasets", "data"),
    how_to_get="scikit-learn ships it (sklearn/datasets/data/digits.csv.gz).",
)

BOSTON_HOUSING_SOURCE = DataSource(
    id="boston_housing",
    description="506 Boston districts, 13 features, median house value (regression)",
    features=lambda _: BOSTON_HOUSING,
    read=read_boston_housing,
    # keras.datasets.boston_housing.load_data(test_split=0.2, seed=113): 404 train, 102 test.
    default_split=ShuffleSplit(eval_fraction=0.2, seed=113),
    layouts=("boston_housing.npz", "boston_housing.csv"),
    default_dirs=lambda: [keras_cache_dir(), package_data_dir("mlxtend.data", "data")],
    shipped_in=("mlxtend.data", "data"),
    how_to_get="keras.datasets.boston_housing.load_data() caches boston_housing.npz; "
    "mlxtend ships boston_housing.csv.",
)
