"""Transform building blocks: one function per `kind` of `modules.config.FeatureTransform`.

Each takes the raw feature tensor (dense, shape `[batch, n]` or ragged/sparse for sequences) and
returns a dense float32 or int64 tensor of shape `[batch, width]`, where `width` is what
`output_width` reports, so the spec checks can verify a model's input shape before anything runs.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf
import tensorflow_transform as tft

from modules.config import Divide, FeatureTransform, Identity, OneHot, Pad, ScaleTo01, ZScore
from modules.features import Feature


def _dense(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor) -> tf.Tensor:
    """Fixed-width features arrive dense from TFXIO; a sparse one (one value each) is densified."""
    if isinstance(x, tf.SparseTensor):
        return tf.sparse.to_dense(x)
    if isinstance(x, tf.RaggedTensor):
        return x.to_tensor()
    return x


def decode_stored(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor, feature: Feature) -> tf.Tensor:
    """Raw uint8 bytes (images) back to a `[batch, *shape]` uint8 tensor; other kinds unchanged.

    Fixed-shape float and int features stay flat, as stored; the model's builder says how it
    reads them.
    """
    if feature.kind != "uint8":
        return x
    pixels = tf.io.decode_raw(tf.reshape(_dense(x), [-1]), tf.uint8)
    return tf.reshape(pixels, [-1, *feature.shape])


def _zscore(x: tf.Tensor, _: ZScore) -> tf.Tensor:
    return tft.scale_to_z_score(tf.cast(_dense(x), tf.float32))


def _scale_to_0_1(x: tf.Tensor, _: ScaleTo01) -> tf.Tensor:
    return tft.scale_to_0_1(tf.cast(_dense(x), tf.float32))


def _divide(x: tf.Tensor, t: Divide) -> tf.Tensor:
    return tf.cast(_dense(x), tf.float32) / t.divisor


def _one_hot(x: tf.Tensor, t: OneHot) -> tf.Tensor:
    ids = tf.reshape(tf.cast(_dense(x), tf.int64), [-1])
    return tf.one_hot(ids, depth=t.depth, dtype=tf.float32)


def _identity(x: tf.Tensor, _: Identity) -> tf.Tensor:
    return tf.cast(_dense(x), tf.float32)


def _pad(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor, t: Pad) -> tf.Tensor:
    """Keras `pad_sequences` semantics: `truncating` picks which end is cut, `padding` which is filled."""
    if isinstance(x, tf.SparseTensor):
        ragged = tf.RaggedTensor.from_sparse(x)
    elif isinstance(x, tf.RaggedTensor):
        ragged = x
    else:
        ragged = tf.RaggedTensor.from_tensor(x)
    ragged = tf.cast(ragged, tf.int64)
    if t.truncating == "pre":
        ragged = ragged[:, -t.length :]
    else:
        ragged = ragged[:, : t.length]
    if t.padding == "post":
        return ragged.to_tensor(default_value=t.value, shape=[None, t.length])
    # Pre-padding: reverse, pad at the end, reverse back.
    reversed_rows = tf.reverse(ragged, axis=[1])
    padded = reversed_rows.to_tensor(default_value=t.value, shape=[None, t.length])
    return tf.reverse(padded, axis=[1])


_APPLY: dict[type, Callable[[tf.Tensor, FeatureTransform], tf.Tensor]] = {
    ZScore: _zscore,
    ScaleTo01: _scale_to_0_1,
    Divide: _divide,
    OneHot: _one_hot,
    Pad: _pad,
    Identity: _identity,
}


def apply_transform(x: tf.Tensor, transform: FeatureTransform) -> tf.Tensor:
    """Applies one spec transform to one raw feature inside a `preprocessing_fn`."""
    return _APPLY[type(transform)](x, transform)


def output_width(transform: FeatureTransform, input_width: int) -> int:
    """Width of the transformed feature given the raw feature's fixed width."""
    if isinstance(transform, OneHot):
        return transform.depth
    if isinstance(transform, Pad):
        return transform.length
    return input_width
