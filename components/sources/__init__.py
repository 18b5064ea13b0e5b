"""The data sources, by id: `get_source("mnist")`; `SOURCES` lists the course's.

A spec may also name a user's own source as `package.module:name`, as it names a user's model:
`name` is a `DataSource`, or a class or function that returns one when called without arguments.
The source then takes the dotted path as its id, which is how every step (the ExampleGen, the
validator, a Kubeflow pod) finds it again.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import re

from components.sources.base import (
    ClusterDataError,
    DataFileError,
    DataLocation,
    DataSource,
    MissingDataError,
    Record,
    SourceRecords,
    cluster_location,
    declared_location,
    keras_cache_dir,
    locate,
)
from components.sources.cifar import CIFAR10_SOURCE, CIFAR100_SOURCE
from components.sources.csv_files import CSV_SOURCE
from components.sources.image_folder import IMAGE_FOLDER_SOURCE
from components.sources.images import (
    FASHION_MNIST_SOURCE,
    IMAGES_DIR_SOURCE,
    MNIST_5K_SOURCE,
    MNIST_SOURCE,
)
from components.sources.sequences import DOT_SOURCE, LETTERS_SOURCE, PRICES_CSV_SOURCE, YOGURT_SOURCE
from components.sources.tabular import BOSTON_HOUSING_SOURCE, DIGITS_SOURCE, IRIS_SOURCE
from components.sources.text import IMDB_SOURCE, IMDB_TEXT_SOURCE
from components.sources.tfrecords import TFRECORD_SOURCE

SOURCES: dict[str, DataSource] = {
    source.id: source
    for source in (
        IRIS_SOURCE, DIGITS_SOURCE, BOSTON_HOUSING_SOURCE,
        MNIST_SOURCE, MNIST_5K_SOURCE, FASHION_MNIST_SOURCE, IMAGES_DIR_SOURCE, IMAGE_FOLDER_SOURCE,
        CIFAR10_SOURCE, CIFAR100_SOURCE,
        IMDB_SOURCE, IMDB_TEXT_SOURCE,
        PRICES_CSV_SOURCE, DOT_SOURCE, YOGURT_SOURCE, LETTERS_SOURCE,
        CSV_SOURCE, TFRECORD_SOURCE,
    )
}


DOTTED_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def get_source(source_id: str) -> DataSource:
    """The source `source_id`: a course source's id or a user's `package.module:name`.

    Raises:
      KeyError: neither, with the known ids in the message.
      ImportError: a dotted path whose module does not import, or that names no data source.
    """
    if source_id in SOURCES:
        return SOURCES[source_id]
    if DOTTED_PATH.match(source_id):
        return _user_source(source_id)
    raise KeyError(
        f"data source {source_id!r} unknown; expected one of: {', '.join(sorted(SOURCES))} "
        "(or package.module:name of your own)"
    )


@functools.cache
def _user_source(dotted_path: str) -> DataSource:
    module_name, attribute = dotted_path.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ImportError(f"data source {dotted_path!r}: {error}") from None
    found = getattr(module, attribute, None)
    if found is None:
        raise ImportError(f"data source {dotted_path!r}: {module_name!r} has no {attribute!r}")
    source = found if isinstance(found, DataSource) else found() if callable(found) else None
    if not isinstance(source, DataSource):
        raise ImportError(f"{dotted_path!r} is not a DataSource nor makes one when called "
                          f"(got {type(source if callable(found) else found).__name__})")
    return dataclasses.replace(source, id=dotted_path)


__all__ = [
    "DOTTED_PATH", "SOURCES", "ClusterDataError", "DataFileError", "DataLocation", "DataSource", "MissingDataError", "Record",
    "SourceRecords", "cluster_location", "declared_location", "get_source", "keras_cache_dir", "locate",
]
