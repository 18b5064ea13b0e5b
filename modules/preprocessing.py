"""The one `preprocessing_fn` every pipeline's Transform runs, driven by the spec's transform section."""
from __future__ import annotations

from typing import Any, Mapping

import tensorflow as tf

from modules.config import TransformConfig
from modules.features import Feature, FeatureSet, transformed_name
from modules.transforms import apply_transform, decode_stored

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
    outputs = {
        transformed_name(name): apply_transform(
            decode_stored(inputs[name], stored[name]) if name in stored else inputs[name], transform
        )
        for name, transform in config.features.items()
    }
    label = custom_config.get(LABEL_KEY)
    if label is not None:
        outputs[label] = inputs[label]
        if config.label is not None:
            outputs[transformed_name(label)] = apply_transform(inputs[label], config.label)
    return outputs
