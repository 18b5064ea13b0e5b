"""Daily prices (a CSV, split by date) and the course's generated toys: `dot`, `yogurt`, `letters`.

The generated sources read no file: they rebuild the course's data from fixed seeds, so their
records are a pure function of the spec's options (which TFX already fingerprints).
"""
from __future__ import annotations

import csv
import io
import math
from typing import Sequence

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from components.sources.base import DataFileError, DataSource, SourceRecords
from components.sources.tabular import only_file, read_text
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT, AllSplit, GivenSplit
from modules.features import SCALAR_FLOAT, Feature, FeatureSet
from modules.spec_sections import StrictModel

DOT = FeatureSet(features=("x1", "x2"), label="y_c", num_classes=2)
YOGURT = FeatureSet(features=("x1", "x2"), label="y", kinds={"y": SCALAR_FLOAT})
LETTERS_LABEL = "next_letter"


def letters_set(window: int, alphabet_size: int) -> FeatureSet:
    """`window` letter ids in, the id of the letter after them out."""
    return FeatureSet(
        features=("letters",), label=LETTERS_LABEL, num_classes=alphabet_size,
        kinds={"letters": Feature("int", (window,))},
    )


def prices_set(window: int) -> FeatureSet:
    """`window` days of prices in, the next day's price out (both in price units)."""
    return FeatureSet(
        features=("prices",), label="next_price",
        kinds={"prices": Feature("float", (window,)), "next_price": SCALAR_FLOAT},
    )


class PricesOptions(StrictModel):
    """The course's stock set-up (004 M29-M31): the last `test_days` days are held out, and
    windows of `window` days predict the next, never crossing that boundary."""

    date_column: str = "date"
    price_column: str = "open"
    test_days: PositiveInt = 300
    window: PositiveInt = 60
    shuffle_seed: int | None = Field(7, description="the course shuffles the training windows")


def read_prices(path: str, options: PricesOptions) -> tuple[list[str], np.ndarray]:
    """Dates and prices, checked: every price a number, dates strictly increasing."""
    rows = csv.reader(io.StringIO(read_text(path)))
    header = next(rows, None) or []
    missing = [c for c in (options.date_column, options.price_column) if c not in header]
    if missing:
        raise DataFileError(
            f"{path}:1: header expected columns {options.date_column!r} and {options.price_column!r} "
            f"(data.options date_column/price_column), missing {', '.join(map(repr, missing))}; got {header}"
        )
    date_at, price_at = header.index(options.date_column), header.index(options.price_column)
    dates, prices = [], []
    for line_number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataFileError(f"{path}:{line_number}: expected {len(header)} fields, got {len(row)}")
        try:
            price = float(row[price_at])
        except ValueError:
            raise DataFileError(
                f"{path}:{line_number}: field {options.price_column!r} expected a number, got {row[price_at]!r}"
            ) from None
        if not math.isfinite(price):
            raise DataFileError(f"{path}:{line_number}: field {options.price_column!r} expected a finite number")
        if dates and row[date_at] <= dates[-1]:
            raise DataFileError(
                f"{path}:{line_number}: field {options.date_column!r} expected dates in increasing order, "
                f"got {row[date_at]!r} after {dates[-1]!r}"
            )
        dates.append(row[date_at])
        prices.append(price)
    return dates, np.asarray(prices, dtype=np.float64)


def price_windows(prices: np.ndarray, window: int) -> list[dict[str, object]]:
    return [
        {"prices": prices[i - window:i].astype(np.float32), "next_price": float(prices[i])}
        for i in range(window, len(prices))
    ]


def read_prices_csv(files: Sequence[str], options: PricesOptions) -> SourceRecords:
    path = only_file(files, "prices_csv")
    _, prices = read_prices(path, options)
    train_days = len(prices) - options.test_days
    if train_days <= options.window or options.test_days <= options.window:
        raise DataFileError(
            f"{path}: {len(prices)} days cannot make windows of {options.window} on both sides of "
            f"the last {options.test_days} days; expected more than {options.window + options.test_days + options.window}"
        )
    train = price_windows(prices[:train_days], options.window)
    if options.shuffle_seed is not None:
        np.random.RandomState(options.shuffle_seed).shuffle(train)
    return {TRAIN_SPLIT: train, EVAL_SPLIT: price_windows(prices[train_days:], options.window)}


class DotOptions(StrictModel):
    """The MOOC's `generateds.py`: `RandomState(seed).randn(n, 2)`, label `x1^2 + x2^2 < 2`."""

    seed: int = 2
    n: PositiveInt = 300


def generate_dot(_files: Sequence[str], options: DotOptions) -> SourceRecords:
    x = np.random.RandomState(options.seed).randn(options.n, 2)
    return {ALL_RECORDS: [
        {"x1": float(a), "x2": float(b), DOT.label: int(a * a + b * b < 2)} for a, b in x
    ]}


class YogurtOptions(StrictModel):
    """004 M4/M5 exactly: `rdm = RandomState(23455); x = rdm.rand(32, 2)`,
    `y = x1 + x2 + (rdm.rand() / 10 - 0.05)` drawn row by row."""

    seed: int = 23455
    n: PositiveInt = 32


def generate_yogurt(_files: Sequence[str], options: YogurtOptions) -> SourceRecords:
    rdm = np.random.RandomState(options.seed)
    x = rdm.rand(options.n, 2)
    return {ALL_RECORDS: [
        {"x1": float(a), "x2": float(b), YOGURT.label: float(a + b + (rdm.rand() / 10.0 - 0.05))} for a, b in x
    ]}


class LettersOptions(StrictModel):
    """004 M25-M28: `window` letters predict the next. `cyclic` wraps around the alphabet
    (abcd->e, bcde->a as M26); the a-z model of M28 does not wrap (22 windows)."""

    alphabet: str = Field("abcde", min_length=2)
    window: PositiveInt = 1
    cyclic: bool = True
    shuffle_seed: int | None = 7

    @model_validator(mode="after")
    def _window_fits(self) -> LettersOptions:
        if not self.cyclic and self.window >= len(self.alphabet):
            raise ValueError(f"window {self.window} needs an alphabet longer than {len(self.alphabet)} letters")
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError("alphabet letters must be distinct")
        return self


def generate_letters(_files: Sequence[str], options: LettersOptions) -> SourceRecords:
    size = len(options.alphabet)
    starts = range(size) if options.cyclic else range(size - options.window)
    records = [
        {
            "letters": np.asarray([(s + k) % size for k in range(options.window)], dtype=np.int64),
            LETTERS_LABEL: (s + options.window) % size,
        }
        for s in starts
    ]
    if options.shuffle_seed is not None:
        np.random.RandomState(options.shuffle_seed).shuffle(records)
    return {ALL_RECORDS: records}


def letters_features(options: LettersOptions) -> FeatureSet:
    return letters_set(options.window, len(options.alphabet))


PRICES_CSV_SOURCE = DataSource(
    id="prices_csv",
    description="daily prices from a CSV (date, price columns): windows of past days -> next day",
    features=lambda options: prices_set(options.window),
    read=read_prices_csv,
    default_split=GivenSplit(),
    layouts=("*.csv",),
    how_to_get="Give a CSV with a date column and a price column (the course used SH600519.csv).",
    options_class=PricesOptions,
    fixed_split=True,
)

DOT_SOURCE = DataSource(
    id="dot",
    description="300 points (x1, x2) ~ N(0, 1), label x1^2 + x2^2 < 2 (generated, seed 2)",
    features=lambda _: DOT,
    read=generate_dot,
    default_split=AllSplit(),
    options_class=DotOptions,
)

YOGURT_SOURCE = DataSource(
    id="yogurt",
    description="32 yogurt sales rows, y = x1 + x2 + noise (generated as 004 M4, seed 23455)",
    features=lambda _: YOGURT,
    read=generate_yogurt,
    default_split=AllSplit(),
    options_class=YogurtOptions,
)

LETTERS_SOURCE = DataSource(
    id="letters",
    description="letter sequences of an alphabet -> the next letter (generated as 004 M25-M28)",
    features=letters_features,
    read=generate_letters,
    default_split=AllSplit(),
    options_class=LettersOptions,
)
