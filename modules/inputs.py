"""Turns transformed features into the one tensor a course model takes.

Training and serving both call `model_input`, so the order and shape of the model's input can
never differ between the two.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import tensorflow as tf

from modules.features import transformed_name


def model_input(transformed: Mapping[str, tf.Tensor], features: Sequence[str]) -> tf.Tensor:
    """One feature is passed as it is (keeps int ids for embeddings); several are concatenated."""
    tensors = [transformed[transformed_name(name)] for name in features]
    if len(tensors) == 1:
        return tensors[0]
    flat = [tf.reshape(tf.cast(t, tf.float32), [tf.shape(t)[0], -1]) for t in tensors]
    return tf.concat(flat, axis=-1)


def flatten_batch(x: tf.Tensor) -> tf.Tensor:
    """[batch, ...] -> [batch, n]: what an autoencoder's last Dense layer reconstructs."""
    return tf.reshape(tf.cast(x, tf.float32), [tf.shape(x)[0], -1])
