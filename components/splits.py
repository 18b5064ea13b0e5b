"""The course's ways of splitting a data set into train and eval, as spec options (`data.split`).

Each is a pydantic model with a `kind` and an `apply(records)`; a source names its course default,
a spec may choose another. The split is the course's, not TFX's hash split, so the pipeline trains
on exactly the examples the course trained on.
"""
from __future__ import annotations

from typing import Annotated, Literal, Sequence, TypeVar

import numpy as np
from pydantic import Field

from modules.spec_sections import StrictModel

TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
# A source that has no split of its own returns its records under this key.
ALL_RECORDS = "all"

T = TypeVar("T")


class GivenSplit(StrictModel):
    """The source's own train and test files (MNIST 60k/10k, CIFAR, IMDB, ...)."""

    kind: Literal["given"] = "given"


class ShuffleSplit(StrictModel):
    """`np.random.seed(seed); np.random.shuffle(x)`, then the last `eval_fraction` held out.

    The cut is Keras' (`validation_split`, `load_data(test_split=...)`): the first
    `int(n * (1 - eval_fraction))` records train.
    """

    kind: Literal["shuffle"] = "shuffle"
    eval_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    seed: int = 116

    def apply(self, records: Sequence[T]) -> dict[str, list[T]]:
        order = np.arange(len(records))
        np.random.RandomState(self.seed).shuffle(order)
        cut = int(len(records) * (1 - self.eval_fraction))
        return {
            TRAIN_SPLIT: [records[i] for i in order[:cut]],
            EVAL_SPLIT: [records[i] for i in order[cut:]],
        }


class SklearnSplit(StrictModel):
    """`sklearn.model_selection.train_test_split(test_size=..., random_state=...)` (course 003)."""

    kind: Literal["sklearn"] = "sklearn"
    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    random_state: int = 1

    def apply(self, records: Sequence[T]) -> dict[str, list[T]]:
        from sklearn.model_selection import train_test_split

        indices = np.arange(len(records))
        train, test = train_test_split(
            indices, test_size=self.test_size, random_state=self.random_state
        )
        return {
            TRAIN_SPLIT: [records[i] for i in train],
            EVAL_SPLIT: [records[i] for i in test],
        }


class AllSplit(StrictModel):
    """Train and eval both hold every record: the course trains and scores on the whole set
    (the letters, the dot and yogurt toys), so there is nothing to hold out."""

    kind: Literal["all"] = "all"

    def apply(self, records: Sequence[T]) -> dict[str, list[T]]:
        return {TRAIN_SPLIT: list(records), EVAL_SPLIT: list(records)}


SplitConfig = Annotated[
    GivenSplit | ShuffleSplit | SklearnSplit | AllSplit, Field(discriminator="kind")
]


def apply_split(split: SplitConfig, source_records: dict[str, list[T]]) -> dict[str, list[T]]:
    """Train/eval records from what a source read.

    A source returns either its own `train`/`eval` splits or one pool under `all`; `given` needs
    the former, the others pool whatever the source returned (train first).
    """
    if isinstance(split, GivenSplit):
        if set(source_records) != {TRAIN_SPLIT, EVAL_SPLIT}:
            raise ValueError(
                "data.split: kind 'given' needs a source with its own train and test files; "
                "expected kind shuffle, sklearn or all for this source"
            )
        return {TRAIN_SPLIT: source_records[TRAIN_SPLIT], EVAL_SPLIT: source_records[EVAL_SPLIT]}
    pooled = [record for name in sorted(source_records, key=_train_first) for record in source_records[name]]
    return split.apply(pooled)


def _train_first(name: str) -> int:
    return {TRAIN_SPLIT: 0, ALL_RECORDS: 0, EVAL_SPLIT: 1}.get(name, 2)
