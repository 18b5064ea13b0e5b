"""The one `preprocessing_fn` every pipeline's Transform runs, driven by the spec's transform section."""
from __future__ import annotations

import re
from typing import Any, Mapping

import tensorflow as tf
import tensorflow_transform as tft

from modules.autograph import skip_library_conversion
from modules.features import Feature, FeatureSet, transformed_name
from modules.spec_sections import FeatureTransform, OneHot, ScaleLike, ScaleTo01, TransformConfig, ZScore
from modules.transforms import apply_transform, decode_stored, filled

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
    outputs = scaled_together(inputs, config.features, stored)
    for name, transform in config.features.items():
        if transformed_name(name) in outputs:
            continue
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


# Scalings of one number per example that one analyzer over a [batch, k] tensor computes for k
# features at once, column by column (`elementwise=True`): the same mean and variance (or min and
# max) per feature as k analyzers of one column each.
_JOINT_SCALINGS = {ZScore: tft.scale_to_z_score, ScaleTo01: tft.scale_to_0_1}


def scaled_together(inputs: Mapping[str, tf.Tensor], transforms: Mapping[str, FeatureTransform],
                    stored: Mapping[str, Feature]) -> dict[str, tf.Tensor]:
    """The z-scored and 0-1 scaled scalar features, each kind through one analyzer.

    tf.Transform builds, traces and runs an analyzer per call: on a table of 300 numbers, 300
    `scale_to_z_score` calls took most of a run (`python -m benchmarks.wide_table`). Stacked
    into one [batch, k] tensor they take one analyzer per kind; each feature's output is its
    column, [batch, 1], as before."""
    outputs: dict[str, tf.Tensor] = {}
    for kind, scale in _JOINT_SCALINGS.items():
        names = [name for name, transform in transforms.items()
                 if type(transform) is kind and name in stored and not stored[name].shape and stored[name].kind != "text"]
        if len(names) < 2:
            continue
        with tf.name_scope(f"{kind.__name__.lower()}_together"):
            columns = [tf.reshape(tf.cast(filled(inputs[name], transforms[name].fill), tf.float32), [-1, 1])
                       for name in names]
            scaled = scale(tf.concat(columns, axis=1), elementwise=True)
        for index, name in enumerate(names):
            outputs[transformed_name(name)] = scaled[:, index:index + 1]
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
