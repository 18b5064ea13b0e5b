"""The one `preprocessing_fn` every pipeline's Transform runs, driven by the spec's transform section."""
from __future__ import annotations

from typing import Any, Mapping

import tensorflow as tf

from modules.config import TransformConfig
from modules.features import transformed_name
from modules.transforms import apply_transform

TRANSFORM_KEY = "transform"
LABEL_KEY = "label"


def make_transform_custom_config(transform: TransformConfig, label: str | None) -> dict[str, Any]:
    """The `custom_config` that Transform hands to `preprocessing_fn`: plain JSON-able values."""
    return {TRANSFORM_KEY: transform.model_dump(mode="json"), LABEL_KEY: label}


def preprocessing_fn(
    inputs: Mapping[str, tf.Tensor], custom_config: Mapping[str, Any]
) -> dict[str, tf.Tensor]:
    """Transforms each feature the spec lists; passes the label through untouched.

    The label stays raw so the Evaluator and a serving client see the same label as the data.
    """
    config = TransformConfig.model_validate(custom_config[TRANSFORM_KEY])
    outputs = {
        transformed_name(name): apply_transform(inputs[name], transform)
        for name, transform in config.features.items()
    }
    label = custom_config.get(LABEL_KEY)
    if label is not None:
        outputs[label] = inputs[label]
    return outputs
