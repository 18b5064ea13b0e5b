"""The one `preprocessing_fn` every pipeline's Transform runs, driven by the spec's transform section."""
from __future__ import annotations

import re
from typing import Any, Mapping

import tensorflow as tf
import tensorflow_transform as tft

from modules.autograph import skip_library_conversion
from modules.features import Feature, FeatureSet, transformed_name
from modules.spec_sections import FeatureTransform, OneHot, ScaleLike, TransformConfig
from modules.transforms import apply_transform, decode_stored

skip_library_conversion()  # before Transform traces preprocessing_fn (modules.autograph says why)

TRANSFORM_KEY = "transform"
LABEL_KEY = "label"
STORED_KEY = "stored"


def make_transform_custom_config(transform: TransformConfig, features: FeatureSet | None) -> dict[str, Any]:
    """The `custom_config` that Transform hands to `preprocessing_fn`: plain JSON-able values.

    It carries how each transformed feature is stored, so raw image bytes are decoded to their
    shape by the data source's own description, not by a guess.
    """
    stored = {}
    if features is not None:
        for name in transform.features:
            feature = features.feature(name)
            stored[name] = {"kind": feature.kind, "shape": list(feature.shape)}
    return {
        TRANSFORM_KEY: transform.model_dump(mode="json"),
        LABEL_KEY: features.label if features is not None else None,
        STORED_KEY: stored,
    }


def preprocessing_fn(
    inputs: Mapping[str, tf.Tensor], custom_config: Mapping[str, Any]
) -> dict[str, tf.Tensor]:
    """Transforms each feature the spec lists; passes the label through untouched.

    The label stays raw so the Evaluator and a serving client see the same label as the data.
    """
    config = TransformConfig.model_validate(custom_config[TRANSFORM_KEY])
    stored = {
        name: Feature(description["kind"], tuple(description["shape"]))
        for name, description in custom_config.get(STORED_KEY, {}).items()
    }
    outputs = {}
    for name, transform in config.features.items():
        raw = _raw(inputs[name], stored.get(name), transform)
        with tf.name_scope(_scope_name(name, raw.dtype)):
            outputs[transformed_name(name)] = apply_transform(raw, transform)
    label = custom_config.get(LABEL_KEY)
    if label:  # unlabelled pictures have none
        outputs[label] = inputs[label]
        if isinstance(config.label, OneHot):
            outputs[transformed_name(label)] = apply_transform(_as_scalars(inputs[label]), config.label)
        elif isinstance(config.label, ScaleLike):
            outputs.update(_scaled_label(inputs, label, config.label))
    return outputs


def _scope_name(feature: str, dtype: tf.DType) -> str:
    """A name scope per feature and type. tf.Transform names a vocabulary's lookup table after its
    place in the graph, and TensorFlow shares a table of that name across the process: without the
    scope, a second pipeline run in one process whose second vocabulary held integers where the
    first run's held strings failed ("Conflicting key/value dtypes string->int64 with int64-int64")."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", f"{feature}.{dtype.name}").lstrip("_.-") or "feature"


def _scaled_label(inputs: Mapping[str, tf.Tensor], label: str, scale: ScaleLike) -> dict[str, tf.Tensor]:
    """The label min-max scaled by its input feature's training-split range, plus that offset and
    range per example (they do not depend on the label, so serving computes them too)."""
    reference = tf.cast(inputs[scale.feature], tf.float32)
    if isinstance(reference, tf.SparseTensor):
        reference = tf.sparse.to_dense(reference)
    low, high = tft.min(reference), tft.max(reference)
    span = tf.where(high > low, high - low, tf.ones_like(high))
    batch = tf.shape(reference)[:1]
    name = transformed_name(label)
    return {
        name: (tf.cast(_as_scalars(inputs[label]), tf.float32) - low) / span,
        label_offset_name(label): tf.fill(batch, low),
        label_range_name(label): tf.fill(batch, span),
    }


def label_offset_name(label: str) -> str:
    return f"{transformed_name(label)}_offset"


def label_range_name(label: str) -> str:
    return f"{transformed_name(label)}_range"


def _as_scalars(x: tf.Tensor) -> tf.Tensor:
    """One value per example as a [batch] tensor (SchemaGen's inferred shapes give [batch, 1])."""
    return tf.reshape(x, [-1])


def _raw(x: tf.Tensor, stored: Feature | None, transform: FeatureTransform) -> tf.Tensor:
    """A raw feature as its transform expects it: image bytes decoded to their shape; a scalar
    category as [batch] for one-hot ([batch, depth] out), where a sequence of ids stays
    [batch, n] ([batch, n, depth] out: the one-hot letters a recurrent layer reads)."""
    if isinstance(transform, OneHot) and (stored is None or not stored.shape):
        return _as_scalars(x)
    return x if stored is None else decode_stored(x, stored)
