"""The `csv` source: a user's own CSV files with a header row, columns declared in the spec.

`data.path` is a file, a directory of `*.csv` (or `*.csv.gz`) files, or `span-<N>` folders of them.
Files named `train*` and `eval*`/`test*` are those splits (with `data.split: {kind: given}`), as is
a split column; otherwise the spec's shuffle split cuts all rows. Quoted cells may hold the
delimiter and line breaks (Python's `csv` module, RFC 4180); UTF-8 with or without a byte-order mark.
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from typing import Iterator, Sequence

from pydantic import Field, field_validator

from components.sources.base import DataFileError, Record, SourceRecords
from components.sources.columns import TableOptions, TableRows, parse_cell, split_records, table_source
from components.sources.safe_files import TextFileError, bounded_lines, open_text
from components.splits import EVAL_SPLIT, TRAIN_SPLIT

CSV_LAYOUTS = ("*.csv", "*.csv.gz")
# Cells that mean "no value", as pandas' `read_csv` reads them by default, and `?` (UCI's files).
DEFAULT_MISSING_MARKERS = ("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                           "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "?")
_OTHER_DELIMITERS = (";", "\t", "|", ",")


class CsvOptions(TableOptions):
    """`data.options` of the csv source: the table's declarations and how its cells are written."""

    delimiter: str = Field(",", description="the character between cells (\\t for tab-separated files)")
    missing_values: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MISSING_MARKERS),
        description="cells that mean 'no value' (an empty cell always does), read as empty: the column's "
        "`missing` rule then applies; a column's own missing_values overrides this list",
    )

    def markers_of(self, column: str) -> frozenset[str]:
        """The cells that mean 'no value' in `column`."""
        declared = next((c for c in self.columns if c.name == column), None)
        own = declared.missing_values if declared is not None else None
        return frozenset(self.missing_values if own is None else own)
    quotechar: str = Field('"', description="the character that quotes a cell holding delimiters or line breaks")
    list_separator: str = Field(" ", description="between the values of a list column's cell")
    comment: str | None = Field(
        None, description="lines that begin with this character are skipped, before the header and between "
        "rows (a file's '# Data source: ...' line); none by default"
    )

    @field_validator("delimiter", "quotechar", "comment")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"expected one character, got {value!r}")
        return value


def csv_rows(path: str, options: CsvOptions,
             markers_seen: Counter[str] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(first line, {column: cell}) of each data row of `path`; the header checked against the
    columns; a missing-value marker (`NA`, `n/a`, ...) read as an empty cell and counted in
    `markers_seen` (marker -> cells)."""
    try:
        with open_text(path) as handle:
            lines = bounded_lines(handle)
            if options.comment is not None:
                lines = uncommented(lines, options.comment)
            yield from _rows(path, lines, options, markers_seen)
    except TextFileError as error:
        raise DataFileError(f"{path}:{error.line}: {error}") from None
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: byte {error.start}: expected UTF-8 text") from None
    except OSError as error:
        raise DataFileError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    except csv.Error as error:
        raise DataFileError(f"{path}: not a CSV file as declared ({error})") from None


def uncommented(lines: Iterator[str], comment: str) -> Iterator[str]:
    """`lines` with each one that begins with `comment` blanked (kept as a line, so the numbers in
    error messages stay those of the file; the reader skips blank lines)."""
    for line in lines:
        yield "\n" if line.startswith(comment) else line


def commented_first_line(path: str, comment: str = "#") -> bool:
    """Whether the file's first line begins with `comment` (a note above the header): what
    `coursepipe init` and `data` take as the file's comment character."""
    try:
        with open_text(path) as handle:
            return next(bounded_lines(handle), "").startswith(comment)
    except (TextFileError, UnicodeDecodeError, OSError):
        return False  # the reader proper says what is wrong with the file


def _rows(path: str, lines: Iterator[str], options: CsvOptions,
          markers_seen: Counter[str] | None) -> Iterator[tuple[int, dict[str, str]]]:
    """`csv_rows` of a file's lines, read one by one (a large file is never held whole)."""
    reader = csv.reader(lines, delimiter=options.delimiter, quotechar=options.quotechar)
    first = next(reader, None)
    while first is not None and not any(cell.strip() for cell in first):
        first = next(reader, None)  # blank lines before the header
    if first is None:
        raise DataFileError(f"{path}: the file is empty; expected a header row, then data rows")
    header = [name.strip() for name in first]
    _check_header(path, header, options)
    markers = [options.markers_of(name) for name in header]
    line = reader.line_num + 1
    rows = 0
    for row in reader:
        where = f"{path}:{line}"
        line = reader.line_num + 1
        if not row or row == [""]:
            continue
        if len(row) != len(header):
            raise DataFileError(f"{where}: expected {len(header)} cells (the header's columns), got {len(row)}")
        rows += 1
        cells = {}
        for name, cell, marks in zip(header, row, markers, strict=True):
            if cell.strip() in marks:
                if markers_seen is not None:
                    markers_seen[cell.strip()] += 1
                cell = ""
            cells[name] = cell
        yield int(where.rsplit(":", 1)[1]), cells
    if rows == 0:
        raise DataFileError(f"{path}: only a header row; expected data rows after it")


def _check_header(path: str, header: list[str], options: CsvOptions) -> None:
    first_position: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in first_position:
            raise DataFileError(f"{path}:1: column {name!r} appears twice in the header (columns "
                                f"{first_position[name]} and {position}); expected each column name once")
        first_position[name] = position
    missing = [column.name for column in options.columns if column.name not in header]
    if not missing:
        return
    hint = ""
    if len(header) == 1:
        others = [d for d in _OTHER_DELIMITERS if d != options.delimiter and d in header[0]]
        if others:
            hint = (f"; the header is one cell holding {others[0]!r}: expected data.options.delimiter: "
                    f"{others[0]!r}? (now {options.delimiter!r})")
    raise DataFileError(f"{path}:1: column {missing[0]!r} (data.options.columns) is not in the header "
                        f"{header}{hint}")


def file_split(path: str) -> str | None:
    """The split a file's name gives (`train.csv`, `eval-2024.csv`, `test.csv`), or None."""
    name = os.path.basename(path).lower()
    if name.startswith("train"):
        return TRAIN_SPLIT
    if name.startswith(("eval", "test", "valid")):
        return EVAL_SPLIT
    return None


def read_csv(files: Sequence[str], options: CsvOptions) -> SourceRecords:
    """Every row of every file as a record, checked; split by file name or split column if given."""
    table = TableRows(options)
    by_name = [file_split(path) for path in files]
    named = all(split is not None for split in by_name) and len(set(by_name)) == 2
    rows: list[tuple[str | None, Record]] = []
    for path, split in zip(files, by_name, strict=True):
        for line, cells in csv_rows(path, options):
            where = f"{path}:{line}"
            typed = {column.name: parse_cell(column, cells[column.name], options.list_separator, where)
                     for column in options.columns}
            record = table.record(typed, where)
            if record is not None:
                rows.append((table.split_of(cells, where) or (split if named else None), record))
    if not rows:
        raise DataFileError(f"{', '.join(files)}: every row was dropped (missing: drop_row); expected at least one")
    return split_records(rows)


CSV_SOURCE = table_source(
    "csv", "your own CSV file(s): a header row, the columns and the label declared in data.options",
    read_csv, CSV_LAYOUTS, CsvOptions, "CSV file",
)
