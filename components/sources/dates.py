"""Date and time cells: read once by the source, stored as one text form the Transform reads.

A `date` column's cells are parsed where the data is read (a CSV cell, a tf.Example's bytes), so a
malformed date is a data error naming its file, line and column, and every stored value has the
form `YYYY-MM-DDTHH:MM:SS` (`datetime.isoformat`). The transform (`modules.transforms`) then takes the year, month, day,
weekday and hour from fixed positions, and serving examples written the same way read the same.

Cells are ISO 8601 (`2024-03-01`, `2024-03-01 13:45`, `2024-03-01T13:45:07.5+01:00`; `/` between
the parts also) unless the column names a `date_format` (Python's `strptime` codes, e.g.
`%d-%b-%y` for `19-Sep-03`). A time zone offset is dropped: the wall-clock time as written is what
"hour of the day" means to most tables.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Iterable

ISO_DESCRIPTION = "an ISO 8601 date (YYYY-MM-DD, optionally with a time HH:MM[:SS])"
_ISO = re.compile(
    r"(?P<year>\d{4})[-/](?P<month>\d{1,2})[-/](?P<day>\d{1,2})"
    r"(?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?"
)
# The forms `coursepipe init` recognizes besides ISO 8601, tried in this order; a column is dates
# when every filled cell parses with one of them. Month-first comes before day-first: a column of
# US dates whose days never pass 12 would read either way, and init says which it chose.
INFERRED_FORMATS = ("%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y")


def parse_date(text: str, date_format: str | None = None) -> str:
    """`text` as the stored form; ValueError (saying what was expected) when it is not a date."""
    text = text.strip()
    if date_format is None:
        match = _ISO.fullmatch(text)
        if match is None:
            raise ValueError(f"expected {ISO_DESCRIPTION}")
        parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
        when = datetime.datetime(**parts)  # ValueError for 2024-02-30, month 13, hour 25
    else:
        when = datetime.datetime.strptime(text, date_format)
    return when.isoformat(timespec="seconds")  # YYYY-MM-DDTHH:MM:SS, zero-padded (strftime's %Y is not)


@dataclass(frozen=True)
class DateForm:
    """How a column's dates are written: a `Column.date_format` (None: ISO 8601)."""

    date_format: str | None


def date_form_of(cells: Iterable[str]) -> DateForm | None:
    """How a column's filled cells are written when every one of them is a date (ISO 8601, else
    the first of `INFERRED_FORMATS` that reads them all); None when they are not (or there are none)."""
    cells = [cell for cell in cells if cell]
    if not cells or any(cell.isdigit() for cell in cells):  # years or numbers: a number column
        return None
    for date_format in (None, *INFERRED_FORMATS):
        try:
            for cell in cells:
                parse_date(cell, date_format)
        except ValueError:
            continue
        return DateForm(date_format)
    return None
