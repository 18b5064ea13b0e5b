"""What a user's table holds, read once to write its declarations: kinds, gaps, distinct values.

`coursepipe data csv|tfrecord --data-dir FILE` prints the columns it finds as spec lines to paste;
`coursepipe init` builds a whole spec from the same profiles. The pipeline itself never infers:
it reads the columns the spec declares (`components.sources.columns` says why).
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import yaml

from components.sources.base import DataFileError
from components.sources.columns import Column, ColumnKind, parse_scalar
from components.sources.csv_files import CsvOptions, commented_first_line, csv_rows
from components.sources.dates import date_form_of
from components.sources.tfrecords import KIND_OF_LIST, tfrecord_examples

# Distinct values kept per column: enough to name a label's classes and size a vocabulary.
MAX_KEPT_VALUES = 1000
# `init` and `data` infer columns from at most this many rows: a large file is sampled, not loaded whole.
MAX_PROFILE_ROWS = 100_000


@dataclass(frozen=True)
class ColumnProfile:
    """One column as found: its inferred declaration and what the data holds."""

    column: Column
    rows: int
    empty: int
    distinct: int  # MAX_KEPT_VALUES + 1 means "more than MAX_KEPT_VALUES"
    values: tuple[Any, ...]  # the distinct values when at most MAX_KEPT_VALUES, sorted
    most_common_share: float  # of the non-empty cells: what always answering that value scores
    median: float | None
    mean_absolute_deviation: float | None  # from the median: what predicting the median scores
    distinct_share: float = 0.0  # distinct values / filled cells: 1.0 when no value repeats
    in_row_order: bool = False  # integers rising (or falling) row after row: a row number, a sample number
    compact: bool = False  # integers spanning at most twice their count (1..n shuffled), not measurements
    date_range: tuple[str, str] | None = None  # a date column's earliest and latest (stored form)
    counts: tuple[tuple[Any, int], ...] = ()  # (value, cells) for each of `values`

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def empty_fraction(self) -> float:
        return self.empty / self.rows if self.rows else 1.0


class _Collector:
    """Cells of one column, collected for the profile."""

    def __init__(self) -> None:
        self.cells: list[Any] = []
        self.empty = 0
        self.kinds: set[str] = set()
        self.sizes: set[int] = set()

    def add(self, value: Any, kind: str | None, size: int = 1) -> None:
        if kind is None:
            self.empty += 1
            return
        self.cells.append(value)
        self.kinds.add(kind)
        self.sizes.add(size)


def _text_kind(cell: str) -> ColumnKind:
    for kind, parse in (("int", int), ("float", float)):
        try:
            parse(cell)
            return kind  # type: ignore[return-value]
        except ValueError:
            continue
    return "string"


def _profile(name: str, collected: _Collector, rows: int) -> ColumnProfile | None:
    kinds = collected.kinds
    if len(collected.sizes) > 1:
        return None  # lists of varying length: not a fixed-shape column
    kind: ColumnKind = "string" if "string" in kinds else "float" if "float" in kinds else "int" if kinds else "string"
    size = next(iter(collected.sizes), 1)
    dates = date_form_of(str(cell) for cell in collected.cells) if kind == "string" and size == 1 else None
    date_format = dates.date_format if dates is not None else None
    if dates is not None:
        kind = "date"
    values = [parse_scalar(kind, str(cell), date_format) for cell in collected.cells] if size == 1 else []
    counted = Counter(values)
    numbers = [float(v) for v in values] if kind in ("int", "float") and values else []
    median = statistics.median(numbers) if numbers else None
    deviation = statistics.fmean(abs(v - median) for v in numbers) if median is not None else None
    column = Column(name=name, kind=kind, shape=[size] if size > 1 else [],
                    missing="keep" if collected.empty else "error", date_format=date_format)
    pairs = list(zip(values, values[1:], strict=False))
    return ColumnProfile(
        column=column, rows=rows, empty=collected.empty,
        distinct=len(counted) if len(counted) <= MAX_KEPT_VALUES else MAX_KEPT_VALUES + 1,
        values=tuple(sorted(counted)) if len(counted) <= MAX_KEPT_VALUES else (),
        counts=tuple(sorted(counted.items())) if len(counted) <= MAX_KEPT_VALUES else (),
        most_common_share=counted.most_common(1)[0][1] / len(values) if values else 0.0,
        median=median, mean_absolute_deviation=deviation,
        distinct_share=len(counted) / len(values) if values else 0.0,
        in_row_order=kind == "int" and bool(pairs) and (all(b > a for a, b in pairs) or all(b < a for a, b in pairs)),
        compact=kind == "int" and bool(values) and max(values) - min(values) < 2 * len(values),
        date_range=(min(values), max(values)) if kind == "date" and values else None,
    )


def _profiles(names: Iterable[str], collected: dict[str, _Collector], rows: int) -> list[ColumnProfile]:
    found = [_profile(name, collected[name], rows) for name in names]
    return [profile for profile in found if profile is not None]


@dataclass
class ProfileNotes:
    """What profiling saw besides the columns: the missing-value markers read as empty cells, and
    whether it stopped at `MAX_PROFILE_ROWS` (a large file is profiled from a sample)."""

    markers: Counter[str] = field(default_factory=Counter)
    sampled: bool = False
    comment: str | None = None  # the files' comment character, when their first line is a note

    def options(self) -> dict[str, str]:
        """The `data.options` (besides the columns) the files need to be read as they were here."""
        return {"comment": self.comment} if self.comment is not None else {}

    def lines(self) -> list[str]:
        """What to tell the user, one line each."""
        said = []
        if self.markers:
            said.append(f"read as missing (data.options.missing_values): {describe_markers(self.markers)}")
        if self.sampled:
            said.append(f"profiled from the first {MAX_PROFILE_ROWS} rows (the files hold more)")
        return said


def profile_csv(files: Sequence[str], delimiter: str = ",", quotechar: str = '"',
                notes: ProfileNotes | None = None) -> list[ColumnProfile]:
    """Every column of the CSV files (their header's order), kinds inferred: int, float, else
    string, from at most `MAX_PROFILE_ROWS` rows; missing-value markers (`NA`, ...) are empty
    cells, counted in `notes`."""
    notes = notes if notes is not None else ProfileNotes()
    if any(commented_first_line(path) for path in files):
        notes.comment = "#"
    options = CsvOptions(delimiter=delimiter, quotechar=quotechar, comment=notes.comment)
    collected: dict[str, _Collector] = {}
    names: list[str] = []
    rows = 0
    for path in files:
        if rows >= MAX_PROFILE_ROWS:
            notes.sampled = True
            break
        for _, cells in csv_rows(path, options, notes.markers):
            if rows >= MAX_PROFILE_ROWS:
                notes.sampled = True
                break
            rows += 1
            for name, cell in cells.items():
                if name not in collected:
                    collected[name] = _Collector()
                    names.append(name)
                text = cell.strip()
                collected[name].add(text, _text_kind(text) if text else None)
    return _profiles(names, collected, rows)


def profile_tfrecords(files: Sequence[str]) -> list[ColumnProfile]:
    """Every feature of the tf.Examples, kinds from their lists, shapes from their value counts."""
    collected: dict[str, _Collector] = {}
    names: list[str] = []
    rows = 0
    for path in files:
        for _, example in tfrecord_examples(path):
            rows += 1
            present = set()
            for name, feature in example.features.feature.items():
                if name not in collected:
                    collected[name] = _Collector()
                    collected[name].empty = rows - 1
                    names.append(name)
                stored = feature.WhichOneof("kind")
                values = list(getattr(feature, stored).value) if stored else []
                if not values:
                    continue
                present.add(name)
                if stored == "bytes_list":
                    values = [value.decode("utf-8", errors="replace") for value in values]
                collected[name].add(values[0] if len(values) == 1 else tuple(values), KIND_OF_LIST[stored], len(values))
            for name in collected.keys() - present:
                collected[name].empty += 1
    return _profiles(sorted(names), collected, rows)


def declared_columns_yaml(source_id: str, path: str, profiles: Sequence[ColumnProfile],
                          options: dict[str, str] | None = None) -> str:
    """The `data:` section declaring these columns, each with a comment on its gaps and values,
    after the other `options` the files need (`ProfileNotes.options`)."""
    lines = ["data:", f"  source: {source_id}", f"  path: {path}", "  options:"]
    lines += [f"    {key}: {yaml.safe_dump(value, default_style=chr(39)).strip()}" for key, value in (options or {}).items()]
    lines.append("    columns:")
    for profile in profiles:
        flow = yaml.safe_dump(column_declaration(profile.column), default_flow_style=True, sort_keys=False).strip()
        lines.append(f"      - {flow:<60} # {describe(profile)}")
    lines.append("    label: LABEL   # the column to predict (a string label also needs classes: [name, ...])")
    return "\n".join(lines) + "\n"


def column_declaration(column: Column) -> dict[str, Any]:
    """A column as a spec writes it: name and kind, then only what differs from the defaults."""
    return {"name": column.name, "kind": column.kind,
            **column.model_dump(mode="json", exclude_defaults=True, exclude={"name", "kind"})}


def one_line(text: str) -> str:
    """`text` safe to print on one line or to write into a `#` comment: line breaks and other
    control characters escaped (`\\n`), so a cell or a column name can neither start a new line
    of a written spec nor move a terminal's cursor."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def describe(profile: ColumnProfile) -> str:
    """`12 of 15002 empty; 7 distinct: Cash, Credit Card, ...` (a comment beside a declaration),
    on one line whatever the cells hold."""
    parts = [f"{profile.empty} of {profile.rows} empty" if profile.empty else "no empty cells"]
    if profile.date_range is not None:
        written = f" written {profile.column.date_format!r}" if profile.column.date_format else ""
        parts.append(f"dates{one_line(written)} from {profile.date_range[0]} to {profile.date_range[1]}")
    elif profile.distinct > MAX_KEPT_VALUES:
        parts.append(f"more than {MAX_KEPT_VALUES} distinct")
    elif profile.distinct <= 8:
        parts.append(f"{profile.distinct} distinct: {', '.join(one_line(str(value)) for value in profile.values)}")
    else:
        parts.append(f"{profile.distinct} distinct")
    return "; ".join(parts)


def profile_files(source_id: str, files: Sequence[str], notes: ProfileNotes | None = None) -> list[ColumnProfile]:
    """The profiles of a csv or tfrecord source's files (`notes`: see `profile_csv`)."""
    if not files:
        raise DataFileError(f"{source_id}: no files to read")
    return profile_csv(files, notes=notes) if source_id == "csv" else profile_tfrecords(files)


def describe_markers(markers_seen: Counter[str]) -> str:
    """`NA: 344 cells, ?: 2 cells`: which missing-value markers were read as empty cells."""
    return ", ".join(f"{one_line(marker)!r}: {count} cell{'s' if count != 1 else ''}"
                     for marker, count in markers_seen.most_common())
