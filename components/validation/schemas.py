"""Schemas: reading curated ones, serving environments, drift/skew comparators, freezing.

A schema inferred by SchemaGen describes one run's data exactly; a frozen ("curated") schema is
the contract new data is held to. `curate` turns the former into the latter: the class label gets
its domain, free text and image bytes lose the accidental string domain TFDV gives any bytes
feature with few distinct values, and the label is kept out of the SERVING environment so serving
data may lack it.
"""
from __future__ import annotations

import os
from importlib import resources
from typing import Any, Iterable

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from components.validation.config import Thresholds
from modules.features import FeatureSet

SCHEMAS_PACKAGE = "pipelines"
SCHEMAS_DIR = "schemas"
TRAINING, SERVING = "TRAINING", "SERVING"
# Bytes features that hold no categories: one UTF-8 review, one image's raw pixels.
UNCATEGORICAL_KINDS = ("text", "uint8")


class SchemaFileError(ValueError):
    """A schema file that is missing or not a Schema in text format; the message names it."""


def shipped_schemas_dir() -> str:
    return str(resources.files(SCHEMAS_PACKAGE) / SCHEMAS_DIR)


def schema_path(name: str) -> str:
    """`iris_softmax.pbtxt` -> the shipped file; a path with a directory part is taken as given."""
    if os.path.dirname(name):
        return os.path.abspath(os.path.expanduser(name))
    return os.path.join(shipped_schemas_dir(), name)


def read_schema(path: str) -> schema_pb2.Schema:
    """A Schema in text format (`.pbtxt`), or a `SchemaFileError` naming the file and the problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise SchemaFileError(f"{path}: cannot read the schema ({error.strerror})") from None
    try:
        return text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as error:
        raise SchemaFileError(f"{path}: not a tensorflow_metadata Schema in text format: {error}") from None


def schema_in(artifact_uri: str) -> schema_pb2.Schema:
    """The schema a SchemaGen or ImportSchemaGen artifact holds (its one file)."""
    from tfx.utils import io_utils  # TFX's filesystem (gs://, s3://); importing it imports TensorFlow

    return io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(artifact_uri))


def write_schema(schema: schema_pb2.Schema, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text_format.MessageToString(schema))


def with_environments(schema: schema_pb2.Schema, label: str) -> schema_pb2.Schema:
    """A copy where every feature is in TRAINING and SERVING except the label (TRAINING only)."""
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    if not result.default_environment:
        result.default_environment.extend([TRAINING, SERVING])
    for feature in result.feature:
        if feature.name == label and SERVING not in feature.not_in_environment:
            feature.not_in_environment.append(SERVING)
    return result


def is_categorical(feature: schema_pb2.Feature) -> bool:
    """Strings with a domain and integers marked categorical are compared by L-infinity."""
    if feature.type == schema_pb2.BYTES:
        return feature.HasField("domain") or feature.HasField("string_domain")
    return feature.type == schema_pb2.INT and feature.int_domain.is_categorical


def is_compared(feature: schema_pb2.Feature) -> bool:
    """Free text and image bytes (bytes without a domain) have no distribution to compare."""
    return feature.type != schema_pb2.BYTES or is_categorical(feature)


def with_comparators(schema: schema_pb2.Schema, drift: Thresholds | None, skew: Thresholds | None) -> schema_pb2.Schema:
    """A copy of `schema` with a drift and/or skew comparator on every comparable feature
    (skew only on features serving data carries: not the label)."""
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    for feature in result.feature:
        if not is_compared(feature):
            continue
        categorical = is_categorical(feature)
        for thresholds, comparator in ((drift, feature.drift_comparator), (skew, feature.skew_comparator)):
            if thresholds is None or (comparator is feature.skew_comparator and SERVING in feature.not_in_environment):
                continue
            value = thresholds.threshold_for(feature.name, categorical)
            if categorical:
                comparator.infinity_norm.threshold = value
            else:
                comparator.jensen_shannon_divergence.threshold = value
    return result


def _default_slice(statistics: statistics_pb2.DatasetFeatureStatisticsList) -> statistics_pb2.DatasetFeatureStatistics:
    return statistics.datasets[0]


def feature_name(stats: statistics_pb2.FeatureNameStatistics) -> str:
    """A feature's name in TFDV statistics (its path; older statistics carry a plain name)."""
    return ".".join(stats.path.step) or stats.name


def curate(
    schema: schema_pb2.Schema, statistics: statistics_pb2.DatasetFeatureStatisticsList, features: FeatureSet
) -> schema_pb2.Schema:
    """The inferred `schema` made a contract for new data (see the module docstring).

    The label's domain is 0..num_classes-1 when the source declares its classes, else the range
    the statistics saw; every feature must be present in every example (the course data has no
    missing values), which SchemaGen already infers.
    """
    uncategorical = [name for name, kind in features.kinds.items() if kind.kind in UNCATEGORICAL_KINDS]
    result = without_domains(with_environments(schema, features.label), uncategorical)
    observed = {feature_name(stats): stats for stats in _default_slice(statistics).features}
    for feature in result.feature:
        if feature.name != features.label or feature.type != schema_pb2.INT:
            continue
        domain = feature.int_domain
        if features.num_classes is not None:
            domain.min, domain.max = 0, features.num_classes - 1
        elif feature.name in observed:
            numeric = observed[feature.name].num_stats
            domain.min, domain.max = int(numeric.min), int(numeric.max)
        domain.is_categorical = True
    return result


def without_domains(schema: schema_pb2.Schema, names: Iterable[str]) -> schema_pb2.Schema:
    """`schema` with no value domain on the features `names`: values that are not a closed set.
    SchemaGen gives any bytes feature with few distinct values one; for free text, pixels or dates
    (each new span and every serving request brings new days) every unseen value would then be an
    `ENUM_TYPE_UNEXPECTED_STRING_VALUES` anomaly."""
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    names = set(names)
    for feature in result.feature:
        if feature.name in names:
            feature.ClearField("domain")
            feature.ClearField("string_domain")
    # Drop the shared string domains no feature names any more.
    used = {feature.domain for feature in result.feature if feature.HasField("domain")}
    kept = [domain for domain in result.string_domain if domain.name in used]
    del result.string_domain[:]
    result.string_domain.extend(kept)
    return result


def with_open_dates(schema: schema_pb2.Schema, options: Any) -> schema_pb2.Schema:
    """`schema` with the date columns a table source declares (`options`) free of value domains."""
    date_columns = options.date_columns() if hasattr(options, "date_columns") else {}
    return without_domains(schema, date_columns) if date_columns else schema
