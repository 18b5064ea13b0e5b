"""Feature names of every data source, in one place, so no module retypes them."""
from __future__ import annotations

from dataclasses import dataclass

TRANSFORMED_SUFFIX = "_xf"


def transformed_name(key: str) -> str:
    """Name of a feature after Transform; the label keeps its raw name."""
    return key + TRANSFORMED_SUFFIX


@dataclass(frozen=True)
class FeatureSet:
    """The raw features and the label that one data source emits."""

    features: tuple[str, ...]
    label: str
    num_classes: int | None = None

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (*self.features, self.label)


IRIS = FeatureSet(
    features=("sepal_length", "sepal_width", "petal_length", "petal_width"),
    label="species",
    num_classes=3,
)
