"""Transform building blocks: one function per `kind` of `modules.spec_sections.FeatureTransform`.

Each takes the raw feature tensor (dense, shape `[batch, n]` or ragged/sparse for sequences) and
returns a dense float32 or int64 tensor of shape `[batch, width]`, where `width` is what
`modules.spec_sections.output_width` reports, so the spec checks can verify a model's input shape before anything runs.
"""
from __future__ import annotations

import math
from typing import Callable

import tensorflow as tf
import tensorflow_transform as tft

from modules.features import Feature
from modules.spec_sections import (
    DATE_PERIODS,
    Bucketize,
    Categorical,
    Date,
    Divide,
    FeatureTransform,
    Identity,
    Ids,
    OneHot,
    Pad,
    Rescale,
    ScaleTo01,
    Vocabulary,
    ZScore,
)


def _dense(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor) -> tf.Tensor:
    """Fixed-width features arrive dense from TFXIO; a sparse one (one value each) is densified."""
    if isinstance(x, tf.SparseTensor):
        return tf.sparse.to_dense(x)
    if isinstance(x, tf.RaggedTensor):
        return x.to_tensor()
    return x


def filled(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor, fill: float | int | str | None) -> tf.Tensor:
    """A scalar feature that some examples lack (a sparse `[batch, 0 or 1]`) as `[batch, 1]`, the
    missing ones set to `fill`: TFX's taxi example's `_fill_in_missing`. Dense features pass as they are."""
    if fill is None or not isinstance(x, tf.SparseTensor):
        return _dense(x)
    if x.dtype == tf.string:
        default = tf.constant(str(fill).encode("utf-8"))
    else:
        default = tf.constant(int(fill) if x.dtype.is_integer else float(fill), dtype=x.dtype)
    return tf.sparse.to_dense(tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]), default_value=default)


def decode_stored(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor, feature: Feature) -> tf.Tensor:
    """Raw uint8 bytes (images) back to a `[batch, *shape]` uint8 tensor; other kinds unchanged.

    Fixed-shape float and int features stay flat, as stored; the model's builder says how it
    reads them.
    """
    if feature.kind != "uint8":
        return x
    pixels = tf.io.decode_raw(tf.reshape(_dense(x), [-1]), tf.uint8)
    return tf.reshape(pixels, [-1, *feature.shape])


def _zscore(x: tf.Tensor, t: ZScore) -> tf.Tensor:
    return tft.scale_to_z_score(tf.cast(filled(x, t.fill), tf.float32))


def _scale_to_0_1(x: tf.Tensor, t: ScaleTo01) -> tf.Tensor:
    return tft.scale_to_0_1(tf.cast(filled(x, t.fill), tf.float32))


def _divide(x: tf.Tensor, t: Divide) -> tf.Tensor:
    return tf.cast(_dense(x), tf.float32) / t.divisor


def _rescale(x: tf.Tensor, t: Rescale) -> tf.Tensor:
    return tf.cast(_dense(x), tf.float32) * t.scale + t.offset


def _one_hot(x: tf.Tensor, t: OneHot) -> tf.Tensor:
    """One id per example -> [batch, depth]; a sequence of n ids -> [batch, n, depth] (the course's
    one-hot letters, which a recurrent layer reads step by step)."""
    return tf.one_hot(tf.cast(_dense(x), tf.int64), depth=t.depth, dtype=tf.float32)


def _ids(x: tf.Tensor, _: Ids) -> tf.Tensor:
    return tf.cast(_dense(x), tf.int64)


def _identity(x: tf.Tensor, t: Identity) -> tf.Tensor:
    return tf.cast(filled(x, t.fill), tf.float32)


def _one_hot_or_ids(ids: tf.Tensor, output: str, depth: int) -> tf.Tensor:
    """[batch] ids as [batch, depth] one-hot floats, or as [batch, 1] int64 ids for an Embedding."""
    return tf.one_hot(ids, depth=depth, dtype=tf.float32) if output == "one_hot" else ids[:, tf.newaxis]


def _categorical(x: tf.Tensor, t: Categorical) -> tf.Tensor:
    """Vocabulary over the training split (Transform analyzes train only); unseen values -> OOV ids."""
    values = tf.reshape(filled(x, t.fill), [-1])
    ids = tft.compute_and_apply_vocabulary(values, top_k=t.top_k, num_oov_buckets=t.oov_buckets)
    return _one_hot_or_ids(ids, t.output, t.depth)


def _bucketize(x: tf.Tensor, t: Bucketize) -> tf.Tensor:
    """Quantile boundaries over the training split; a value's bucket id in [0, num_buckets)."""
    values = tf.reshape(tf.cast(filled(x, t.fill), tf.float32), [-1])
    return _one_hot_or_ids(tft.bucketize(values, t.num_buckets), t.output, t.num_buckets)


def _ragged(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor) -> tf.RaggedTensor:
    if isinstance(x, tf.SparseTensor):
        return tf.RaggedTensor.from_sparse(x)
    if isinstance(x, tf.RaggedTensor):
        return x
    return tf.RaggedTensor.from_tensor(x)


def pad_sequences(ragged: tf.RaggedTensor, length: int, padding: str, truncating: str, value: int) -> tf.Tensor:
    """Keras `pad_sequences` semantics: `truncating` picks which end is cut, `padding` which is filled."""
    ragged = tf.cast(ragged, tf.int64)
    ragged = ragged[:, -length:] if truncating == "pre" else ragged[:, :length]
    if padding == "post":
        return ragged.to_tensor(default_value=value, shape=[None, length])
    # Pre-padding: reverse, pad at the end, reverse back.
    padded = tf.reverse(ragged, axis=[1]).to_tensor(default_value=value, shape=[None, length])
    return tf.reverse(padded, axis=[1])


def _pad(x: tf.Tensor | tf.SparseTensor | tf.RaggedTensor, t: Pad) -> tf.Tensor:
    ragged = tf.cast(_ragged(x), tf.int64)
    if t.num_words is not None:
        ragged = tf.ragged.map_flat_values(
            lambda ids: tf.where(ids < t.num_words, ids, tf.constant(t.oov_id, tf.int64)), ragged)
    return pad_sequences(ragged, t.length, t.padding, t.truncating, t.value)


# Lower-case, HTML line breaks and anything but letters, digits and apostrophes become spaces.
_NOT_A_WORD = r"(<br\s*/?>|[^a-z0-9'])+"


def tokenize(text: tf.Tensor | tf.SparseTensor | tf.RaggedTensor) -> tf.RaggedTensor:
    """One review per example -> its words, as a ragged [batch, words] string tensor."""
    text = tf.reshape(_dense(text), [-1])
    cleaned = tf.strings.regex_replace(tf.strings.lower(text), _NOT_A_WORD, " ")
    return tf.strings.split(tf.strings.strip(cleaned))


def _vocabulary(x: tf.Tensor, t: Vocabulary) -> tf.Tensor:
    words = tokenize(x)
    ids = tft.compute_and_apply_vocabulary(
        words.to_sparse(), top_k=t.vocab_size - 2, num_oov_buckets=1, vocab_filename="words")
    # Shift by one so that 0 is free for padding: words 1 .. vocab_size - 2, other words vocab_size - 1.
    shifted = tf.RaggedTensor.from_sparse(ids) + 1
    return pad_sequences(shifted, t.length, t.padding, t.truncating, 0)


def _days_from_civil(year: tf.Tensor, month: tf.Tensor, day: tf.Tensor) -> tf.Tensor:
    """Days since 1970-01-01 of a proleptic Gregorian date, in int64 arithmetic (H. Hinnant's
    `days_from_civil`): TensorFlow has no calendar of its own."""
    year = year - tf.cast(month <= 2, tf.int64)
    era = tf.math.floordiv(year, 400)
    year_of_era = year - era * 400
    shifted_month = tf.where(month > 2, month - 3, month + 9)
    day_of_year = (153 * shifted_month + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def date_parts(stored: tf.Tensor) -> dict[str, tf.Tensor]:
    """Dates as the sources store them (`YYYY-MM-DDTHH:MM:SS`, [batch]) to float parts: year,
    month 1-12, day 1-31, day_of_year 1-366, weekday 0 (Monday) - 6, hour 0-24 (minutes as a fraction).
    The numbers are read as the runs of digits, so a serving client's `2024-03-01 13:45` reads the
    same; a value without a time is at midnight."""
    digits = tf.strings.split(tf.strings.strip(tf.strings.regex_replace(stored, "[^0-9]+", " ")))
    numbers = tf.strings.to_number(digits.to_tensor(default_value="0", shape=[None, 6]), tf.int64)
    year, month, day, hour, minute = (numbers[:, i] for i in range(5))
    month, day = tf.clip_by_value(month, 1, 12), tf.clip_by_value(day, 1, 31)
    days = _days_from_civil(year, month, day)
    ones = tf.ones_like(year)
    return {
        "year": tf.cast(year, tf.float32),
        "month": tf.cast(month, tf.float32),
        "day": tf.cast(day, tf.float32),
        "day_of_year": tf.cast(days - _days_from_civil(year, ones, ones) + 1, tf.float32),
        "weekday": tf.cast(tf.math.floormod(days + 3, 7), tf.float32),  # 1970-01-01 was a Thursday
        "hour": tf.cast(hour, tf.float32) + tf.cast(minute, tf.float32) / 60.0,
    }


def _date(x: tf.Tensor, t: Date) -> tf.Tensor:
    parts = date_parts(tf.reshape(filled(x, t.fill), [-1]))
    columns = []
    for part in t.parts:
        if part == "year":
            columns.append(tft.scale_to_z_score(parts["year"]))
            continue
        phase = 2 * math.pi * parts[part] / DATE_PERIODS[part]
        columns.extend([tf.sin(phase), tf.cos(phase)])
    return tf.stack(columns, axis=1)


_APPLY: dict[type, Callable[[tf.Tensor, FeatureTransform], tf.Tensor]] = {
    ZScore: _zscore,
    ScaleTo01: _scale_to_0_1,
    Divide: _divide,
    Rescale: _rescale,
    OneHot: _one_hot,
    Pad: _pad,
    Vocabulary: _vocabulary,
    Ids: _ids,
    Identity: _identity,
    Categorical: _categorical,
    Bucketize: _bucketize,
    Date: _date,
}


def apply_transform(x: tf.Tensor, transform: FeatureTransform) -> tf.Tensor:
    """Applies one spec transform to one raw feature inside a `preprocessing_fn`."""
    return _APPLY[type(transform)](x, transform)
