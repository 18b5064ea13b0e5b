"""The course data sources, by id: `get_source("mnist")`; `SOURCES` lists them all."""
from __future__ import annotations

from components.sources.base import (
    DataFileError,
    DataLocation,
    DataSource,
    MissingDataError,
    Record,
    SourceRecords,
    declared_location,
    keras_cache_dir,
    locate,
)
from components.sources.cifar import CIFAR10_SOURCE, CIFAR100_SOURCE
from components.sources.images import (
    FASHION_MNIST_SOURCE,
    IMAGES_DIR_SOURCE,
    MNIST_5K_SOURCE,
    MNIST_SOURCE,
)
from components.sources.sequences import DOT_SOURCE, LETTERS_SOURCE, PRICES_CSV_SOURCE, YOGURT_SOURCE
from components.sources.tabular import BOSTON_HOUSING_SOURCE, DIGITS_SOURCE, IRIS_SOURCE
from components.sources.text import IMDB_SOURCE, IMDB_TEXT_SOURCE

SOURCES: dict[str, DataSource] = {
    source.id: source
    for source in (
        IRIS_SOURCE, DIGITS_SOURCE, BOSTON_HOUSING_SOURCE,
        MNIST_SOURCE, MNIST_5K_SOURCE, FASHION_MNIST_SOURCE, IMAGES_DIR_SOURCE,
        CIFAR10_SOURCE, CIFAR100_SOURCE,
        IMDB_SOURCE, IMDB_TEXT_SOURCE,
        PRICES_CSV_SOURCE, DOT_SOURCE, YOGURT_SOURCE, LETTERS_SOURCE,
    )
}


def get_source(source_id: str) -> DataSource:
    """The source `source_id`; the error lists the known ones."""
    try:
        return SOURCES[source_id]
    except KeyError:
        raise KeyError(
            f"data source {source_id!r} unknown; expected one of: {', '.join(sorted(SOURCES))}"
        ) from None


__all__ = [
    "SOURCES", "DataFileError", "DataLocation", "DataSource", "MissingDataError", "Record",
    "SourceRecords", "declared_location", "get_source", "keras_cache_dir", "locate",
]
