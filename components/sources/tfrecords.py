"""The `tfrecord` source: TFRecord files of `tf.Example`, gzipped or plain.

`data.path` is a file, a flat folder of them, or TFX's own layout (`Split-train/`, `Split-eval/`:
an ExampleGen's output), whose splits are kept. The columns are declared as for the csv source
(`data.options.columns`) or read from a TFMD schema (`data.options.schema: schema.pbtxt`, what
SchemaGen writes). A feature stored as another type than declared is an error naming the file,
the record and the feature.
"""
from __future__ import annotations

import math
import os
from typing import Any, Iterator, Sequence

from pydantic import Field, model_validator

from components.sources.base import DataFileError, Record, SourceRecords
from components.sources.columns import Cell, Column, TableOptions, TableRows, split_records, table_source
from components.sources.dates import parse_date
from components.sources.safe_files import is_gzip
from components.splits import EVAL_SPLIT, TRAIN_SPLIT

TFRECORD_LAYOUTS = ("Split-*/*", "*.tfrecord", "*.tfrecord.gz", "*.tfrecords", "*.gz")
# tf.train.Feature's `kind` oneof for each declared kind, and back.
_LIST_OF_KIND = {"float": "float_list", "int": "int64_list", "string": "bytes_list", "date": "bytes_list"}
KIND_OF_LIST = {"float_list": "float", "int64_list": "int", "bytes_list": "string"}
_SPLIT_DIRS = {"Split-train": TRAIN_SPLIT, "Split-eval": EVAL_SPLIT}


class TfRecordOptions(TableOptions):
    """`data.options` of the tfrecord source: the table's declarations, or a schema file for the columns."""

    schema_file: str | None = Field(
        None, alias="schema",
        description="a TFMD Schema .pbtxt (SchemaGen's) whose features are the columns, when none are declared",
    )

    @model_validator(mode="before")
    @classmethod
    def _columns_from_schema(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("schema") and not data.get("columns"):
            data = {**data, "columns": [column.model_dump() for column in schema_columns(data["schema"])]}
        return data


def schema_columns(path: str) -> list[Column]:
    """The columns a TFMD schema describes: its types, fixed shapes, and presence (optional: missing keep)."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            schema = text_format.Parse(handle.read(), schema_pb2.Schema())
    except OSError as error:
        raise ValueError(f"schema {path}: cannot read ({error.strerror or error})") from None
    except text_format.ParseError as error:
        raise ValueError(f"schema {path}: not a Schema in text format ({error})") from None
    kinds = {schema_pb2.FLOAT: "float", schema_pb2.INT: "int", schema_pb2.BYTES: "string"}
    columns = []
    for feature in schema.feature:
        if feature.type not in kinds:
            raise ValueError(f"schema {path}: feature {feature.name!r} has no type (expected FLOAT, INT or BYTES)")
        shape = [dim.size for dim in feature.shape.dim]
        optional = feature.HasField("presence") and feature.presence.min_fraction < 1.0
        columns.append(Column(name=feature.name, kind=kinds[feature.type],
                              shape=[] if shape in ([], [1]) else shape,
                              missing="keep" if optional else "error"))
    return columns


def tfrecord_examples(path: str) -> Iterator[tuple[int, Any]]:
    """(record number, parsed tf.train.Example) of every record in `path`, gzipped or not."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    compression = "GZIP" if is_gzip(path) else ""
    number = -1
    try:
        for number, serialized in enumerate(tf.data.TFRecordDataset(path, compression_type=compression).as_numpy_iterator()):
            try:
                example = tf.train.Example.FromString(serialized)
            except DecodeError:
                raise DataFileError(f"{path}: record {number}: not a serialized tf.Example") from None
            if serialized and not example.features.feature:
                # Protocol buffers parse leniently: another message (a TensorProto, a SequenceExample's
                # context-free form) reads as an Example with unknown fields and no features.
                raise DataFileError(f"{path}: record {number}: not a serialized tf.Example ({len(serialized)} bytes "
                                    "that hold no tf.Example features: another kind of record?)")
            yield number, example
    except tf.errors.DataLossError as error:
        reason = error.message.split("}}")[-1].split("[Op:")[0].strip()  # TF's node name and op are noise here
        raise DataFileError(f"{path}: record {number + 1}: not a TFRecord file ({reason})") from None
    if number < 0:
        raise DataFileError(f"{path}: no records; expected TFRecords of tf.Example")


def example_cells(example: Any, columns: Sequence[Column], where: str) -> dict[str, Cell]:
    """The declared columns' values of one tf.Example; an absent or empty feature is "" (empty)."""
    cells: dict[str, Cell] = {}
    for column in columns:
        feature = example.features.feature.get(column.name)
        stored = feature.WhichOneof("kind") if feature is not None else None
        if stored is None or not getattr(feature, stored).value:
            cells[column.name] = ""
            continue
        if stored != _LIST_OF_KIND[column.kind]:
            raise DataFileError(f"{where}: feature {column.name!r} is stored as {KIND_OF_LIST[stored]} "
                                f"({stored}); the columns declare {column.kind}")
        values = list(getattr(feature, stored).value)
        if column.kind in ("string", "date"):
            try:
                values = [value.decode("utf-8") for value in values]
            except UnicodeDecodeError:
                raise DataFileError(f"{where}: feature {column.name!r} expected UTF-8 text") from None
        if column.kind == "date":
            values = [_date(value, column, where) for value in values]
        if column.kind == "float" and not all(math.isfinite(value) for value in values):
            raise DataFileError(f"{where}: feature {column.name!r} holds {values if column.shape else values[0]}; "
                                "expected finite numbers (NaN and infinity make every loss NaN)")
        if len(values) != column.size:
            raise DataFileError(f"{where}: feature {column.name!r} expected {column.size} values "
                                f"(shape {column.shape or 'scalar'}), got {len(values)}")
        cells[column.name] = values if column.shape else values[0]
    return cells


def _date(text: str, column: Column, where: str) -> str:
    try:
        return parse_date(text, column.date_format)
    except ValueError as error:
        raise DataFileError(f"{where}: feature {column.name!r} holds {text[:80]!r}; {error}") from None


def read_tfrecords(files: Sequence[str], options: TfRecordOptions) -> SourceRecords:
    """Every example of every file as a record, checked; TFX's Split-<name> folders keep their split."""
    table = TableRows(options)
    rows: list[tuple[str | None, Record]] = []
    for path in files:
        split = _SPLIT_DIRS.get(os.path.basename(os.path.dirname(path)))
        for number, example in tfrecord_examples(path):
            where = f"{path}: record {number}"
            cells = example_cells(example, options.columns, where)
            record = table.record(cells, where)
            if record is not None:
                rows.append((table.split_of(cells, where) or split, record))
    return split_records(rows)


TFRECORD_SOURCE = table_source(
    "tfrecord", "your own TFRecords of tf.Example (gzipped or plain; a folder, or TFX's Split-train/Split-eval)",
    read_tfrecords, TFRECORD_LAYOUTS, TfRecordOptions, "TFRecord file",
)
