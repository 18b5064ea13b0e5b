"""`coursepipe init`: a whole pipeline spec for a user's own table, from its data file alone.

The columns are profiled once (`components.sources.profiles`) and written down as declarations;
each column gets the transform a TFX user would give it (z-score for numbers, a vocabulary for
strings and for integers with few values, a fill where the data has gaps); the model is the
registry's `tabular_mlp` sized to the transformed width; the gate is what a model must beat to be
worth serving: the majority class's share (classification) or the error of always predicting the
median (regression). The result is a starting point the user edits, and `coursepipe run --spec
ID.yaml` runs it as it is.
"""
from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import yaml

from components.sources import get_source, locate
from components.sources.base import DataFileError, MissingDataError
from components.sources.columns import DEFAULT_EVAL_FRACTION, MinimumExamples
from components.sources.profiles import (
    ColumnProfile,
    ProfileNotes,
    column_declaration,
    describe,
    one_line,
    profile_files,
)
from modules.spec_sections import TransformConfig, output_width

Task = Literal["classification", "regression"]
# Integer columns with at most this many values are categories (hours, weekdays, months, codes).
MAX_INTEGER_CATEGORIES = 32
# String columns with more distinct values than this are identifiers or free text: left out.
MAX_STRING_CATEGORIES = 1000
# Columns with more of their cells empty than this are left out of the model's inputs.
MAX_EMPTY_FRACTION = 0.5
# An integer label with at most this many values is a class label by default.
MAX_INTEGER_CLASSES = 20
TARGET_STEPS = 3000  # training steps `init` aims at, in whole epochs
MAX_EPOCHS = 1000  # a tiny file: 3,000 steps of a few batches each, still in bounds
VALIDATIONS = 20  # about how often the eval split is scored during training (validation_freq)
# A column identifies rows when at least this share of its filled cells are distinct values...
MIN_IDENTIFIER_DISTINCT_SHARE = 0.95
# ...in at least this many rows (in a handful, distinct values say nothing).
MIN_ROWS_FOR_IDENTIFIERS = 20


@dataclass(frozen=True)
class InitialSpec:
    """The spec `init` writes, and what it left out of the model's inputs and why."""

    spec: dict[str, Any]
    left_out: dict[str, str]
    profiles: tuple[ColumnProfile, ...]
    gate: str
    notes: tuple[str, ...] = ()  # what profiling saw besides the columns (markers read as missing, sampling)

    def to_yaml(self, data_path: str) -> str:
        # Comments carry what the data said (names, values): each on one line, so that no cell
        # or column name can add a line, and with it a key, to the spec.
        header = [
            f"# Written by `coursepipe init` from {one_line(data_path)} on {datetime.date.today().isoformat()}:",
            "# the columns as found, a transform per column, a small MLP and a gate; edit freely.",
            *(f"# {one_line(profile.name)}: {describe(profile)}" for profile in self.profiles),
            *(f"# left out of the model's inputs (feature: false): {one_line(name)} ({one_line(why)})"
              for name, why in self.left_out.items()),
            f"# the gate: {one_line(self.gate)}",
            *(f"# {note}" for note in self.notes),
        ]
        body = yaml.safe_dump(self.spec, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
        return "\n".join(header) + "\n" + body


def located_table(data_path: str) -> tuple[str, list[str]]:
    """(`csv`, its files) when the path holds CSV files, else (`tfrecord`, its files) for TFRecords;
    MissingDataError when it holds neither."""
    for source_id in ("csv", "tfrecord"):
        try:
            return source_id, locate(get_source(source_id), data_path, "--data").newest_files()
        except MissingDataError:
            continue
    raise MissingDataError(f"--data: {data_path}: expected a CSV file (*.csv, *.csv.gz), TFRecords of tf.Example, "
                           "or a directory of them")


def _check_label_varies(target: ColumnProfile, data_path: str) -> None:
    """A label that is empty or takes one value teaches nothing: said of the data, before a spec
    exists (rather than as problems of a spec file that was never written)."""
    if target.empty == target.rows:
        raise DataFileError(f"--label: column {one_line(target.name)!r} of {data_path} is empty in all {target.rows} "
                            "rows; expected the values to predict")
    if target.distinct < 2:
        value = one_line(str(target.values[0])) if target.values else "?"
        raise DataFileError(f"--label: column {one_line(target.name)!r} of {data_path} holds one value ({value!r}) in "
                            f"all {target.rows - target.empty} filled rows; expected at least two classes (or varying "
                            "numbers) to learn from")


def initial_spec(pipeline_id: str, data_path: str, label: str, task: Task | None = None) -> InitialSpec:
    """The spec for `data_path` predicting `label`; DataFileError when the label is not a column."""
    data_path = os.path.abspath(data_path)
    source_id, files = located_table(data_path)
    notes = ProfileNotes()
    profiles = profile_files(source_id, files, notes)
    by_name = {profile.name: profile for profile in profiles}
    if label not in by_name:
        raise DataFileError(f"--label: {label!r} is not a column of {data_path}; expected one of: "
                            f"{', '.join(by_name)}")
    target = by_name[label]
    _check_label_varies(target, data_path)
    task = task or _task_of(target)
    transforms, left_out = _transforms(profiles, label)
    columns, label_options = _label_declaration(target, task, profiles, set(left_out))
    if not transforms:
        raise DataFileError(f"{data_path}: no column but {label!r} is usable as a model input "
                            f"({'; '.join(f'{n}: {why}' for n, why in left_out.items())})")
    parsed = TransformConfig.model_validate({"features": transforms}).features
    width = sum(output_width(transform, 1) for transform in parsed.values())
    rows = target.rows - target.empty
    batch_size = 64 if rows >= 2000 else 32
    steps_per_epoch = max(1, math.ceil(rows * (1 - DEFAULT_EVAL_FRACTION) / batch_size))
    epochs = min(MAX_EPOCHS, max(5, math.ceil(TARGET_STEPS / steps_per_epoch)))
    first = min(128, max(16, 2 ** math.ceil(math.log2(max(width, 1)))))
    hparams: dict[str, Any] = {"input_shape": [width], "hidden": [first, first // 2], "dropout": 0.1, "seed": 42}
    training: dict[str, Any] = {"batch_size": batch_size, "epochs": epochs,
                                "optimizer": {"name": "adam", "learning_rate": 0.001}}
    classes = label_options.get("classes") or range(label_options.get("num_classes", 0))
    if task == "regression":
        training |= {"loss": "mean_squared_error", "metrics": ["mean_absolute_error"]}
        evaluation = {"metric": "mean_absolute_error",
                      "upper_bound": _rounded(target.mean_absolute_deviation or 0.0, up=False)}
        gate = "the mean absolute error of always predicting the median"
    else:
        binary = len(classes) == 2
        hparams |= {"binary": True} if binary else {"num_classes": len(classes)}
        metric = "binary_accuracy" if binary else "sparse_categorical_accuracy"
        training |= {"loss": "binary_crossentropy" if binary else "sparse_categorical_crossentropy", "metrics": [metric]}
        evaluation = {"metric": metric, "lower_bound": _rounded(target.most_common_share, up=True)}
        gate = "the share of the most common class"
    training |= {"validation_freq": max(1, epochs // VALIDATIONS), "seed": 42}
    spec = {
        "id": pipeline_id,
        "description": f"{label} from {os.path.basename(data_path)} ({task}; written by coursepipe init)",
        "data": {"source": source_id, "path": data_path,
                 "options": {**notes.options(), "columns": columns, "label": label, **label_options}},
        "transform": {"features": transforms},
        "model": {"name": "tabular_mlp", "hparams": hparams},
        "training": training,
        "evaluation": evaluation,
    }
    return InitialSpec(spec, left_out, tuple(profiles), f"{evaluation['metric']} must beat {gate} in the data",
                       (*notes.lines(), *_size_warnings(target, task)))


def _size_warnings(target: ColumnProfile, task: Task) -> list[str]:
    """What a run will refuse for lack of examples (`TableOptions.min_examples`), said up front."""
    minimum = MinimumExamples()
    rows = target.rows - target.empty
    said = []
    if rows * DEFAULT_EVAL_FRACTION < minimum.per_split:
        eval_rows = math.floor(rows * DEFAULT_EVAL_FRACTION)
        said.append(f"warning: {rows} labelled rows give about {eval_rows} eval examples; a run "
                    f"refuses a split under {minimum.per_split} (data.options.min_examples)")
    if task == "classification" and target.values:
        rare = [str(value) for value, count in target.counts if count * (1 - DEFAULT_EVAL_FRACTION) < minimum.per_class]
        if rare:
            said.append(f"warning: class(es) {', '.join(one_line(name) for name in rare[:5])} have too few rows for "
                        f"{minimum.per_class} training examples each: the model will barely predict them "
                        "(data.options.min_examples)")
    return said


def _task_of(target: ColumnProfile) -> Task:
    if target.column.kind == "string":
        return "classification"
    if target.column.kind == "int" and target.distinct <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def _label_declaration(target: ColumnProfile, task: Task, profiles: Sequence[ColumnProfile],
                       left_out: set[str]) -> tuple[list, dict]:
    """Every column's declaration and the label's options (classes / num_classes). Columns left out
    of the model's inputs are read but not written to the examples: a column (nearly) always empty
    would otherwise be a schema anomaly in any split that happens to hold none of it."""
    label_column = target.column.model_copy(update={"missing": "drop_row" if target.empty else "error"})
    options: dict[str, Any] = {}
    if task == "classification":
        if target.distinct > MAX_STRING_CATEGORIES or target.column.shape:
            raise DataFileError(f"--label: {target.name!r} has {describe(target)}; expected a class per row "
                                "(or --task regression)")
        if target.column.kind == "int" and list(target.values) == list(range(len(target.values))):
            options["num_classes"] = max(len(target.values), 2)
        else:  # class names, or integer codes that are not 0..n-1: read as names
            label_column = label_column.model_copy(update={"kind": "string"})
            options["classes"] = [str(value) for value in target.values]
    elif target.column.kind == "string":
        raise DataFileError(f"--label: {target.name!r} holds strings; regression needs numbers (or --task classification)")
    else:
        label_column = label_column.model_copy(update={"kind": "float"})
    columns = [column_declaration(label_column if p.name == target.name
                                  else p.column.model_copy(update={"feature": p.name not in left_out}))
               for p in profiles]
    return columns, options


def _transforms(profiles: Sequence[ColumnProfile], label: str) -> tuple[dict[str, dict], dict[str, str]]:
    transforms: dict[str, dict] = {}
    left_out: dict[str, str] = {}
    for profile in profiles:
        column = profile.column
        if profile.name == label:
            continue
        if profile.empty_fraction > MAX_EMPTY_FRACTION:
            left_out[profile.name] = f"{profile.empty} of {profile.rows} cells empty"
        elif profile.distinct <= 1:
            left_out[profile.name] = "one value only"
        elif column.kind == "date":
            transforms[profile.name] = {"kind": "date", **({"fill": _middle(profile)} if profile.empty else {})}
        elif identifies_rows(profile):
            left_out[profile.name] = ("an identifier: numbers rising or falling row by row" if profile.in_row_order
                                      else "an identifier: no value repeats")
        elif column.shape:
            left_out[profile.name] = f"a list column (shape {column.shape}); give it a transform of your own"
        elif column.kind == "string" and profile.distinct > MAX_STRING_CATEGORIES:
            left_out[profile.name] = f"more than {MAX_STRING_CATEGORIES} distinct strings (an identifier or free text)"
        elif column.kind == "string" or (column.kind == "int" and profile.distinct <= MAX_INTEGER_CATEGORIES):
            transform: dict[str, Any] = {"kind": "categorical", "top_k": min(profile.distinct, 100)}
            if profile.empty:
                transform["fill"] = "" if column.kind == "string" else int(profile.median or 0)
            transforms[profile.name] = transform
        else:
            transforms[profile.name] = {"kind": "zscore", **({"fill": profile.median} if profile.empty else {})}
    return transforms, left_out


def identifies_rows(profile: ColumnProfile) -> bool:
    """A column that names rows rather than describing them (an id, a sample number): integers
    rising or falling row by row, strings of which (nearly) no value repeats, or integers that do
    not repeat within a span of about their count (row numbers shuffled). A model would learn the
    rows by heart from it, and serving rows have ids it never saw. Integers that rarely repeat
    over a wide span (a trading volume, a price in cents) are measurements and stay."""
    kind = profile.column.kind
    if kind in ("float", "date") or profile.rows - profile.empty < MIN_ROWS_FOR_IDENTIFIERS:
        return False
    unique = profile.distinct_share >= MIN_IDENTIFIER_DISTINCT_SHARE
    return profile.in_row_order or (unique and (kind == "string" or profile.compact))


def _middle(profile: ColumnProfile) -> str:
    """A date column's fill for its empty cells: halfway between its earliest and latest date."""
    first, last = (datetime.datetime.fromisoformat(value) for value in profile.date_range or ("2000-01-01",) * 2)
    return (first + (last - first) / 2).isoformat(timespec="seconds")


def _rounded(value: float, up: bool) -> float:
    """Three decimals, rounded away from what is easy: the bar is never below what the data gives for free."""
    scaled = value * 1000
    return (math.ceil(scaled) if up else math.floor(scaled)) / 1000
