"""A user's own table, declared in the spec: its columns, what an empty cell becomes, the label.

The `csv` and `tfrecord` sources share these declarations (`TableOptions`) and `TableRows`, which
turns one row of typed cells into a record: missing cells by the column's rule, the label by
name, class name or a derived expression, columns that only feed the label dropped. Every error
names where the row came from (`file:line` or `file: record N`) and the column.

Declared, not inferred at run time: a data drop whose column turned from numbers to text would
otherwise change the schema and the model's inputs silently. `coursepipe data csv --data-dir
FILE` and `coursepipe init` infer the declarations once, for the user to keep in the spec.
"""
from __future__ import annotations

import math
import operator
from collections import Counter
from typing import Any, Callable, Literal, Mapping, Sequence

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from components.sources.base import DataFileError, DataSource, Record, SourceRecords
from components.sources.dates import ISO_DESCRIPTION, parse_date
from components.splits import EVAL_SPLIT, TRAIN_SPLIT, ShuffleSplit
from modules.features import CLASS_INDEX, SCALAR_FLOAT, Feature, FeatureSet
from modules.spec_sections import StrictModel

ColumnKind = Literal["float", "int", "string", "date"]
# How each declared kind is stored in a tf.Example (`modules.features.FeatureKind`): a date as its
# text `YYYY-MM-DDTHH:MM:SS` (`components.sources.dates`).
STORED_KIND: dict[str, Literal["float", "int", "text"]] = {"float": "float", "int": "int", "string": "text",
                                                           "date": "text"}
# Values of a split column, and the split each names.
SPLIT_NAMES = {"train": TRAIN_SPLIT, "eval": EVAL_SPLIT, "test": EVAL_SPLIT, "validation": EVAL_SPLIT}

# A table's share of rows in the eval split unless the spec's data.split says otherwise.
DEFAULT_EVAL_FRACTION = 0.2

Cell = float | int | str | list[float] | list[int] | list[str] | None


class Fill(StrictModel):
    """An empty cell becomes `fill`."""

    fill: float | int | str


MissingRule = Literal["error", "drop_row", "keep"] | Fill
MISSING_RULES = "error | drop_row | keep | {fill: VALUE}"


class Column(StrictModel):
    """One column of the table and how it is stored."""

    name: str = Field(min_length=1)
    kind: ColumnKind = "float"
    shape: list[PositiveInt] = Field(
        default_factory=list,
        description="a fixed-length list column: its shape (a CSV cell holds the values separated by "
        "list_separator); empty: one value",
    )
    missing: MissingRule = Field(
        "error",
        description="what an empty cell becomes: error (default), drop_row, keep (left out of the "
        "tf.Example, as TFX's CsvExampleGen does; the transform's fill completes it) or {fill: VALUE}",
    )
    feature: bool = Field(
        True, description="false: read but not written to the examples: a column only a derived label needs "
        "(as a feature it would leak the label), or one the model leaves out"
    )
    missing_values: list[str] | None = Field(
        None, description="CSV: this column's cells that mean 'no value' (over data.options.missing_values; "
        "[] when NA is a real value here)"
    )
    date_format: str | None = Field(
        None, description="kind date: how the cells are written, in Python's strptime codes (e.g. '%d-%b-%y' "
        "for 19-Sep-03); default ISO 8601 (2024-03-01, 2024-03-01 13:45)"
    )

    @model_validator(mode="after")
    def _date_format_for_dates(self) -> Column:
        if self.date_format is not None and self.kind != "date":
            raise ValueError(f"date_format: only for kind date; column {self.name!r} is {self.kind}")
        if self.kind == "date" and self.shape:
            raise ValueError(f"shape: a date column holds one date a cell; column {self.name!r} has shape {self.shape}")
        return self

    @property
    def size(self) -> int:
        return math.prod(self.shape) if self.shape else 1

    def stored(self) -> Feature:
        return Feature(STORED_KIND[self.kind], tuple(self.shape))


class Scaled(StrictModel):
    """`column * times + plus`: one side of a derived label (`{column: fare, times: 0.2}`)."""

    column: str
    times: float = 1.0
    plus: float = 0.0


Operand = float | Scaled | str  # a number, a column scaled, or a column by name

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "greater_than": operator.gt, "greater_equal": operator.ge,
    "less_than": operator.lt, "less_equal": operator.le, "equal": operator.eq,
}


class DerivedLabel(StrictModel):
    """A class label (1 when the comparison holds, else 0) computed from raw columns in the ExampleGen,
    so the Evaluator and serving see the same label: TFX's taxi tip label is
    `{name: big_tipper, kind: greater_than, left: tips, right: {column: fare, times: 0.2}}`."""

    name: str = Field(min_length=1)
    kind: Literal["greater_than", "greater_equal", "less_than", "less_equal", "equal"]
    left: Operand
    right: Operand

    def columns(self) -> list[str]:
        return [side if isinstance(side, str) else side.column
                for side in (self.left, self.right) if isinstance(side, (str, Scaled))]

    def compute(self, values: Mapping[str, Any]) -> int:
        return int(_COMPARISONS[self.kind](_operand(self.left, values), _operand(self.right, values)))


def _operand(side: Operand, values: Mapping[str, Any]) -> float:
    if isinstance(side, str):
        return float(values[side])
    if isinstance(side, Scaled):
        return float(values[side.column]) * side.times + side.plus
    return float(side)


class MinimumExamples(StrictModel):
    """How few examples a run of a user's table accepts: a model scored on one eval example can
    score 1.0 and be blessed while it has learned nothing. 0 turns a minimum off."""

    per_split: NonNegativeInt = Field(10, description="each split (train, eval) holds at least this many examples; "
                                      "fewer is refused")
    per_class: NonNegativeInt = Field(3, description="each class at least this many examples in the train split")
    rare_class: Literal["warn", "refuse"] = Field(
        "warn", description="what a class under per_class does: a warning (a rare class among thousands of rows "
        "leaves the gate meaningful) or a refusal"
    )


class TableOptions(StrictModel):
    """`data.options` of a table source: its columns, its label, how splits are marked."""

    columns: list[Column] = Field(
        default_factory=list,
        description="every column the pipeline reads; `coursepipe data SOURCE --data-dir FILE` prints them to paste",
    )
    label: str | DerivedLabel | None = Field(
        None, description="the label column, or a label derived from columns ({name, kind, left, right})"
    )
    classes: list[str] = Field(
        default_factory=list,
        description="a string label's class names in id order; serving answers with these names",
    )
    num_classes: int | None = Field(None, ge=2, description="an integer label's number of classes (ids 0..n-1)")
    split_column: str | None = Field(
        None, description="a column whose value (train / eval / test / validation) puts the row in that split"
    )
    min_examples: MinimumExamples = Field(
        default_factory=MinimumExamples,
        description="the fewest examples per split and per class a run accepts ({per_split: 10, per_class: 3}; "
        "0 turns one off)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TableOptions:
        names = [column.name for column in self.columns]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"columns: {', '.join(duplicated)} declared twice")
        if not self.columns:
            return self
        declared = {column.name: column for column in self.columns}
        if self.label is None:
            raise ValueError(f"label: expected the label column (one of {', '.join(names)}) or a derived label")
        if isinstance(self.label, DerivedLabel):
            if self.label.name in declared:
                raise ValueError(f"label.name: {self.label.name!r} is a column; a derived label needs a new name")
            for name in self.label.columns():
                column = declared.get(name)
                if column is None:
                    raise ValueError(f"label: column {name!r} is not declared in columns")
                if column.kind in ("string", "date") or column.shape:
                    raise ValueError(f"label: column {name!r} expected a numeric scalar column, got kind {column.kind}")
                if column.missing == "keep":
                    raise ValueError(f"label: column {name!r} has missing: keep; a label needs every value "
                                     "(missing: error, drop_row or {fill: VALUE})")
        else:
            column = declared.get(self.label)
            if column is None:
                raise ValueError(f"label: {self.label!r} is not declared in columns (expected one of {', '.join(names)})")
            if column.missing == "keep" or column.shape:
                raise ValueError(f"label: column {self.label!r} expected one value per row "
                                 "(no shape, missing: error or drop_row)")
            if column.kind == "date":
                raise ValueError(f"label: column {self.label!r} holds dates; expected classes or numbers to predict "
                                 "(a date is a feature: transform kind date)")
            if column.kind == "string" and len(self.classes) < 2:
                raise ValueError(f"classes: label {self.label!r} holds strings; expected its class names in id "
                                 "order (classes: [name, ...], at least two)")
            if column.kind != "string" and self.classes:
                raise ValueError(f"classes: names a string label's classes; {self.label!r} is {column.kind}")
            if column.kind != "int" and self.num_classes is not None:
                raise ValueError(f"num_classes: for an integer label; {self.label!r} is {column.kind}")
        if self.split_column is not None and self.split_column not in declared:
            raise ValueError(f"split_column: {self.split_column!r} is not declared in columns")
        return self

    def check_split_sizes(self, splits: Mapping[str, Sequence[Record]]) -> list[str]:
        """DataFileError when a split holds fewer examples than `min_examples` asks (or a class of
        the train split does, with `rare_class: refuse`): said of the data, before anything is
        written or trained. Returns the warnings, one per rare class."""
        sizes = ", ".join(f"{len(rows)} {name}" for name, rows in splits.items())
        for name, rows in splits.items():
            if len(rows) < self.min_examples.per_split:
                raise DataFileError(
                    f"data.options.min_examples.per_split: the {name} split holds {len(rows)} example(s) ({sizes}); "
                    f"expected at least {self.min_examples.per_split}: a model measured on so few can score "
                    "anything (more rows, or lower the minimum)")
        features = self.feature_set()
        train = splits.get(TRAIN_SPLIT, ())
        if features.num_classes is None or not train:
            return []
        counts = Counter(row[features.label] for row in train)
        names = features.class_names or tuple(str(index) for index in range(features.num_classes))
        rare = [f"data.options.min_examples.per_class: class {name!r} has {counts[index]} example(s) in the "
                f"{TRAIN_SPLIT} split ({sizes}); expected at least {self.min_examples.per_class} of each class to "
                "learn it from: the model will barely predict it"
                for index, name in enumerate(names) if counts[index] < self.min_examples.per_class]
        if rare and self.min_examples.rare_class == "refuse":
            raise DataFileError(f"{rare[0]} (rare_class: refuse)")
        return rare

    def date_columns(self) -> dict[str, Column]:
        """The columns declared `kind: date`, by name."""
        return {column.name: column for column in self.columns if column.kind == "date"}

    def model_inputs(self) -> list[str]:
        """The columns a trained model reads: declared, not `feature: false`, not the label nor
        the split column (what serving data must hold)."""
        label = self.label if isinstance(self.label, str) else None
        return [column.name for column in self.columns
                if column.feature and column.name not in (label, self.split_column)]

    @property
    def label_name(self) -> str:
        if isinstance(self.label, DerivedLabel):
            return self.label.name
        return self.label or ""

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)

    def feature_set(self) -> FeatureSet:
        """The features written to the examples (declared order) and the label's storage."""
        label = self.label_name
        emitted = [c for c in self.columns if c.feature and c.name not in (label, self.split_column)]
        kinds = {column.name: column.stored() for column in emitted}
        label_column = self.column(label)
        if isinstance(self.label, DerivedLabel):
            num_classes: int | None = 2
        elif label_column is not None and label_column.kind == "string":
            num_classes = len(self.classes)
        elif label_column is not None and label_column.kind == "float":
            num_classes = None
        else:
            num_classes = self.num_classes
        kinds[label] = SCALAR_FLOAT if num_classes is None else CLASS_INDEX
        return FeatureSet(
            features=tuple(column.name for column in emitted), label=label, num_classes=num_classes,
            kinds=kinds, class_names=tuple(self.classes),
            optional=frozenset(column.name for column in emitted if column.missing == "keep"),
        )


def table_source(source_id: str, description: str, read: Callable[[Sequence[str], Any], SourceRecords],
                 layouts: tuple[str, ...], options_class: type[TableOptions], files: str) -> DataSource:
    """A source of a user's table: features from its declared columns, the spec's shuffle split by
    default, or the train/eval split its files or a split column give."""
    return DataSource(
        id=source_id,
        description=description,
        features=lambda options: options.feature_set(),
        read=read,
        default_split=ShuffleSplit(eval_fraction=DEFAULT_EVAL_FRACTION, seed=42),
        can_give_split=True,
        layouts=layouts,
        how_to_get=f"Name your {files} or its directory with data.path or --data-dir.",
        options_class=options_class,
    )


class TableRows:
    """Turns rows of cells (typed by `parse_cell`) into records of a `TableOptions` table.

    Rows are collected per split: `train`/`eval` when a split column or the file names say so,
    `all` otherwise (the spec's data.split then cuts them).
    """

    def __init__(self, options: TableOptions, field: str = "data.options.columns") -> None:
        if not options.columns:
            raise DataFileError(f"{field}: no columns declared; `coursepipe data SOURCE --data-dir FILE` "
                                "prints them as spec lines to paste")
        self.options = options
        self.field = field
        self.features = options.feature_set()
        self.classes = {name: index for index, name in enumerate(options.classes)}

    def record(self, cells: Mapping[str, Cell], where: str) -> Record | None:
        """The record of one row; None when a `drop_row` column is empty. `where` is `file:line`."""
        values: dict[str, Any] = {}
        for column in self.options.columns:
            value = cells.get(column.name)
            if value is None or value == "":
                if column.missing == "error":
                    raise DataFileError(
                        f"{where}: column {column.name!r} is empty; say in {self.field} what an empty "
                        f"cell becomes (missing: {MISSING_RULES})")
                if column.missing == "drop_row":
                    return None
                value = None if column.missing == "keep" else _filled(column, column.missing.fill, where)
            values[column.name] = value
        label = self.options.label
        record: Record = {name: values[name] for name in self.features.features if values[name] is not None}
        if isinstance(label, DerivedLabel):
            record[label.name] = label.compute(values)
        else:
            record[self.features.label] = self._label(values[self.features.label], where)
        return record

    def split_of(self, cells: Mapping[str, Cell], where: str) -> str | None:
        if self.options.split_column is None:
            return None
        value = str(cells.get(self.options.split_column, "")).strip().lower()
        if value not in SPLIT_NAMES:
            raise DataFileError(f"{where}: column {self.options.split_column!r} expected one of "
                                f"{', '.join(SPLIT_NAMES)}, got {value!r}")
        return SPLIT_NAMES[value]

    def _label(self, value: Any, where: str) -> int | float:
        name, features = self.features.label, self.features
        if self.classes:
            if value not in self.classes:
                raise DataFileError(f"{where}: column {name!r}: {value!r} is not one of the classes "
                                    f"{list(self.classes)} (data.options.classes)")
            return self.classes[value]
        if features.num_classes is not None and not 0 <= int(value) < features.num_classes:
            raise DataFileError(f"{where}: column {name!r} expected a class index 0..{features.num_classes - 1}, "
                                f"got {value}")
        return value


def _filled(column: Column, fill: float | int | str, where: str) -> Cell:
    try:
        value = parse_scalar(column.kind, str(fill), column.date_format) if column.kind != "string" else str(fill)
    except ValueError:
        raise DataFileError(f"{where}: column {column.name!r}: fill {fill!r} is not a {column.kind}") from None
    return [value] * column.size if column.shape else value


def parse_scalar(kind: str, text: str, date_format: str | None = None) -> float | int | str:
    """One cell's text as `kind`; ValueError when it is not one. `NaN`, `inf` and numbers beyond a
    float (`1e400`) are not numbers here: stored, they would make every loss NaN (and TFDV would
    report no anomaly), so they are a data error, not a value. A date becomes its stored form."""
    if kind == "date":
        return parse_date(text, date_format)
    if kind == "float":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if kind == "int":
        return int(text.strip())
    return text


def parse_cell(column: Column, text: str, list_separator: str, where: str) -> Cell:
    """A CSV cell's text as the column declares it: "" stays "" (empty), lists split and counted."""
    if text == "" or (column.kind != "string" and text.strip() == ""):
        return ""
    expected = {"float": "a finite number (leave the cell empty for a missing value)", "int": "an integer",
                "string": "text", "date": f"a date written {column.date_format!r}" if column.date_format
                else ISO_DESCRIPTION}[column.kind]
    parts = text.split(list_separator) if column.shape else [text]
    if column.shape:
        parts = [part for part in parts if part != ""]
        if len(parts) != column.size:
            raise DataFileError(f"{where}: column {column.name!r} expected {column.size} values "
                                f"(shape {column.shape}), got {len(parts)}")
    try:
        values = [parse_scalar(column.kind, part, column.date_format) for part in parts]
    except ValueError:
        raise DataFileError(f"{where}: column {column.name!r} expected {expected}, got {text!r}") from None
    return values if column.shape else values[0]


def split_records(rows: Sequence[tuple[str | None, Record]]) -> dict[str, list[Record]]:
    """Records by the split their row named, or all under `all` when no row named one."""
    named = [split for split, _ in rows if split is not None]
    if not named:
        return {"all": [record for _, record in rows]}
    if len(named) != len(rows):
        raise DataFileError("some rows name their split (a split column or train/eval file names) and some do not")
    splits: dict[str, list[Record]] = {TRAIN_SPLIT: [], EVAL_SPLIT: []}
    for split, record in rows:
        splits[split or TRAIN_SPLIT].append(record)
    return splits
