"""Data to check, in any of three forms, as serialized `tf.Example`s and TFDV statistics.

`coursepipe validate` and `drift`, and a spec's serving data, accept:
  - the source's own files (what its ExampleGen reads: `iris.csv`, `mnist.npz`, span folders),
  - a CSV whose header names raw feature columns (one value per cell; an empty cell is a missing
    value), typed by the schema where a column's values allow it, so a wrong type shows up as a
    type anomaly rather than a parse error,
  - TFRecords of `tf.Example` (`*.tfrecord`, `*.tfrecords`, gzipped or not, or a TFX Examples
    artifact's `Split-*/data_tfrecord-*.gz`).
Statistics are computed in memory (no Beam): the data checked here fits in memory, as every
course data set does.
"""
from __future__ import annotations

import csv
import fnmatch
import glob
import os
from dataclasses import dataclass
from typing import Any

import tensorflow as tf
import tensorflow_data_validation as tfdv
from google.protobuf.message import DecodeError
from tensorflow_data_validation.statistics.stats_impl import generate_statistics_in_memory
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
from tfx_bsl.coders.example_coder import ExamplesToRecordBatchDecoder

from components.example_encoding import EncodingError, encode_example
from components.example_gen import inferred_feature_set
from components.sources import DataFileError, DataSource, MissingDataError, locate
from components.sources.columns import Column, parse_cell
from components.sources.csv_files import DEFAULT_MISSING_MARKERS, uncommented
from components.sources.safe_files import TextFileError, bounded_lines, is_gzip, open_text

TFRECORD_PATTERNS = ("*.tfrecord", "*.tfrecords", "*.tfrecord.gz", "*.tfrecords.gz", "data_tfrecord-*")


@dataclass(frozen=True)
class LoadedData:
    """Serialized examples read from `path`, and which of the three forms it was."""

    path: str
    form: str  # "source", "csv" (raw feature columns: serving data) or "tfrecord"
    files: tuple[str, ...]
    examples: tuple[bytes, ...]
    # Per example, the text of the columns asked to be carried along (`predict --keep`).
    carried: tuple[tuple[str, ...], ...] = ()

    def statistics(self, schema: schema_pb2.Schema | None = None) -> statistics_pb2.DatasetFeatureStatisticsList:
        return statistics_of(self.examples, self.path, schema)


def statistics_of(
    examples: tuple[bytes, ...] | list[bytes], where: str, schema: schema_pb2.Schema | None = None
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """TFDV statistics of serialized examples, computed in this process.

    With a schema, integer features it marks categorical get value counts (as StatisticsGen
    computes them when given the same schema), which the L-infinity comparator needs.
    """
    if not examples:
        raise DataFileError(f"{where}: no examples; expected at least one row or record")
    batch = ExamplesToRecordBatchDecoder().DecodeBatch(list(examples))
    return generate_statistics_in_memory(batch, tfdv.StatsOptions(schema=schema))


def _matches_layout(source: DataSource, path: str) -> bool:
    name = os.path.basename(path)
    return any(fnmatch.fnmatch(name, os.path.basename(layout)) for layout in source.layouts)


def _is_tfrecord(path: str) -> bool:
    return any(fnmatch.fnmatch(os.path.basename(path), pattern) for pattern in TFRECORD_PATTERNS)


def _tfrecord_files(directory: str) -> list[str]:
    found = []
    for root, _, names in os.walk(directory):
        found += [os.path.join(root, name) for name in names if _is_tfrecord(name)]
    return sorted(found)


def load_data(path: str, source: DataSource, options: Any, schema: schema_pb2.Schema | None, field: str = "--data",
              keep: tuple[str, ...] = (), serving: bool = False) -> LoadedData:
    """Reads `path` in whichever form it is; errors name the path and the forms expected. A CSV
    the source's own reader would take, but that holds only the columns the model reads (serving
    data: no label, no `feature: false` column), is read as raw feature columns. `serving`: a raw
    CSV's columns the schema does not know are ignored (an id, a note), as a model ignores them;
    comparing data sets (drift) keeps them, a renamed column shows on both names."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise MissingDataError(f"{field}: {path} does not exist")
    if os.path.isfile(path):
        if source.layouts and _matches_layout(source, path) and not _holds_serving_columns(path, options):
            if keep:
                raise DataFileError(f"--keep: {path} is read by the {source.id} source (it holds the label); "
                                    "--keep is for serving data: the model's columns, no label")
            return _load_source(path, source, options, field)
        if path.endswith((".csv", ".csv.gz")):
            return _load_csv([path], path, schema if serving else None, keep, options, types_from=schema)
        if _is_tfrecord(path):
            return _load_tfrecords([path], path)
        raise DataFileError(_unknown_form(path, source, field))
    try:
        return _load_source(path, source, options, field)
    except MissingDataError:
        pass
    csvs = sorted(glob.glob(os.path.join(path, "*.csv")))
    if csvs:
        return _load_csv(csvs, path, schema if serving else None, keep, options, types_from=schema)
    records = _tfrecord_files(path)
    if records:
        return _load_tfrecords(records, path)
    raise DataFileError(_unknown_form(path, source, field))


def _holds_serving_columns(path: str, options: Any) -> bool:
    """Whether a table source's CSV lacks some declared column (the label, a `feature: false`
    one) but holds every column the model reads: serving data, not the source's training file."""
    model_inputs = options.model_inputs() if hasattr(options, "model_inputs") else []
    if not model_inputs or not path.endswith((".csv", ".csv.gz")):
        return False
    try:
        with open_text(path) as handle:
            header = {name.strip() for name in next(csv.reader(handle, delimiter=options.delimiter), [])}
    except (OSError, UnicodeDecodeError, csv.Error):
        return False  # the source's reader says what is wrong with the file
    declared = {column.name for column in options.columns}
    return not declared <= header and set(model_inputs) <= header


def _unknown_form(path: str, source: DataSource, field: str) -> str:
    own = " or ".join(repr(layout) for layout in source.layouts) or "(none: a generated source)"
    return (f"{field}: {path}: expected the {source.id} source's files ({own}), a CSV of raw feature "
            f"columns (*.csv), or TFRecords of tf.Example ({', '.join(TFRECORD_PATTERNS)})")


def _load_source(path: str, source: DataSource, options: Any, field: str) -> LoadedData:
    if source.generated:
        raise MissingDataError(f"{field}: {path}: the {source.id} source is generated and reads no files")
    files = locate(source, path, field).newest_files()
    records = source.read(files, options)
    features = source.features(options)
    try:
        examples = [encode_example(row, features) for rows in records.values() for row in rows]
    except EncodingError as error:
        raise DataFileError(f"{path}: {error}") from None
    return LoadedData(path, "source", tuple(files), tuple(examples))


def _load_tfrecords(files: list[str], path: str) -> LoadedData:
    examples: list[bytes] = []
    for name in files:
        compression = "GZIP" if is_gzip(name) else ""
        try:
            examples += [record.numpy() for record in tf.data.TFRecordDataset(name, compression_type=compression)]
        except tf.errors.DataLossError as error:
            raise DataFileError(f"{name}: not a TFRecord file ({error.message})") from None
    try:
        if examples:
            tf.train.Example.FromString(examples[0])  # a TFRecord of something else fails here, not in TFDV
    except DecodeError as error:
        raise DataFileError(f"{files[0]}: record 0: not a serialized tf.Example ({error})") from None
    return LoadedData(path, "tfrecord", tuple(files), tuple(examples))


def _schema_types(schema: schema_pb2.Schema | None) -> dict[str, int]:
    return {feature.name: feature.type for feature in schema.feature} if schema is not None else {}


def _parse_column(values: list[str], schema_type: int | None) -> list[Any]:
    """Cells of one column typed as the schema says when every value allows it, else inferred
    (int, then float, then text), so a wrong type is left for the validation to report."""
    present = [value for value in values if value != ""]

    def all_parse(kind: type) -> bool:
        try:
            for value in present:
                kind(value)
        except ValueError:
            return False
        return True

    if schema_type == schema_pb2.FLOAT and all_parse(float):
        kind: type = float
    elif schema_type == schema_pb2.INT and all_parse(int):
        kind = int
    elif schema_type == schema_pb2.BYTES:
        kind = str
    elif all_parse(int):
        kind = int
    elif all_parse(float):
        kind = float
    else:
        kind = str
    return [None if value == "" else kind(value) for value in values]


def _markers(options: Any, column: str) -> frozenset[str]:
    """The cells of `column` that mean 'no value': the csv source's declaration, else the usual markers."""
    if hasattr(options, "markers_of"):
        return options.markers_of(column)
    return frozenset(DEFAULT_MISSING_MARKERS)


def _stored_dates(cells: list[str], column: Column, name: str, lines: list[int]) -> list[str]:
    """A date column's cells in their stored form; DataFileError naming `file:line` and the column."""
    return [str(parse_cell(column, cell, " ", f"{name}:{line}")) for cell, line in zip(cells, lines, strict=True)]


def _load_csv(files: list[str], path: str, known: schema_pb2.Schema | None, keep: tuple[str, ...] = (),
              options: Any = None, types_from: schema_pb2.Schema | None = None) -> LoadedData:
    """Raw feature columns, typed as `types_from` says where it can. Columns `known` (a schema)
    does not hold are ignored when it is given, and `keep` names columns whose text is carried
    along per example; a missing-value marker (`NA`, ...) is a missing value, as an empty cell."""
    types = _schema_types(types_from)
    read_only = set(_schema_types(known)) if known is not None else None
    delimiter = getattr(options, "delimiter", ",")
    examples: list[bytes] = []
    carried: list[tuple[str, ...]] = []
    for name in files:
        try:
            with open_text(name) as handle:
                lines = bounded_lines(handle)
                if getattr(options, "comment", None):
                    lines = uncommented(lines, options.comment)
                reader = csv.reader(lines, delimiter=delimiter)
                header = [column.strip() for column in next((row for row in reader if row), [])]
                numbered = [(reader.line_num, row) for row in reader if row]
        except TextFileError as error:
            raise DataFileError(f"{name}:{error.line}: {error}") from None
        except UnicodeDecodeError as error:
            raise DataFileError(f"{name}: byte {error.start} is not UTF-8 text; expected a UTF-8 CSV") from None
        if not header:
            raise DataFileError(f"{name}: empty; expected a header row naming the raw feature columns")
        missing = [column for column in keep if column not in header]
        if missing:
            raise DataFileError(f"--keep: {name}: no column {missing[0]!r} in the header {header}")
        for number, row in numbered:
            if len(row) != len(header):
                raise DataFileError(f"{name}: line {number}: expected {len(header)} cells (the header's), got {len(row)}")
        rows = [row for _, row in numbered]
        # A serving CSV's dates are read as the source reads them, so the model sees their stored form.
        dates = options.date_columns() if hasattr(options, "date_columns") else {}
        read = [i for i, column in enumerate(header) if read_only is None or column in read_only]
        columns = {}
        for i in read:
            markers = _markers(options, header[i])
            cells = ["" if row[i].strip() in markers else row[i] for row in rows]
            if header[i] in dates:
                cells = _stored_dates(cells, dates[header[i]], name, [number for number, _ in numbered])
            columns[header[i]] = _parse_column(cells, types.get(header[i]))
        for index, row in enumerate(rows):
            # An empty cell is a missing value: the feature is left out of that example.
            present = {column: values[index] for column, values in columns.items() if values[index] is not None}
            examples.append(encode_example(present, inferred_feature_set(present)))
            carried.append(tuple(row[header.index(column)] for column in keep))
    return LoadedData(path, "csv", tuple(files), tuple(examples), tuple(carried) if keep else ())
