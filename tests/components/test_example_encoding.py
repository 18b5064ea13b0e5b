"""The direct wire-format encoder writes exactly what protobuf would, for every feature kind."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.example_encoding import EncodingError, encode_example
from modules.features import Feature, FeatureSet

FEATURES = FeatureSet(
    features=("image", "text", "ids", "empty_ids", "prices", "x"),
    label="label",
    kinds={
        "image": Feature("uint8", (2, 3)), "text": Feature("text"), "ids": Feature("int", (None,)),
        "empty_ids": Feature("int", (None,)), "prices": Feature("float", (3,)), "x": Feature("float"),
    },
)


def _protobuf_example(record):
    def feature(name, value):
        kind = FEATURES.feature(name).kind
        if kind == "uint8":
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[np.asarray(value).tobytes()]))
        if kind == "text":
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        if kind == "int":
            return tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(value).tolist()))
        return tf.train.Feature(float_list=tf.train.FloatList(value=np.ravel(value).tolist()))

    return tf.train.Example(features=tf.train.Features(feature={n: feature(n, v) for n, v in record.items()}))


def test_every_kind_parses_back_to_the_protobuf_message():
    record = {
        "image": np.arange(6, dtype=np.uint8).reshape(2, 3),
        "text": "naïve review, ünïcode",
        "ids": np.array([0, 1, 127, 128, 300, 2**40, -1, -(2**63)], dtype=np.int64),
        "empty_ids": np.array([], dtype=np.int64),
        "prices": np.array([1.5, -2.25, 1e10], dtype=np.float32),
        "x": 0.1,
        "label": 7,
    }
    encoded = encode_example(record, FEATURES)
    assert tf.train.Example.FromString(encoded) == _protobuf_example(record)


def test_parse_example_reads_what_was_encoded():
    record = {"image": np.full((2, 3), 255, np.uint8), "text": "t", "ids": [5, 6], "empty_ids": [],
              "prices": [1.0, 2.0, 3.0], "x": 2.5, "label": 3}
    parsed = tf.io.parse_single_example(encode_example(record, FEATURES), {
        "image": tf.io.FixedLenFeature([], tf.string), "ids": tf.io.VarLenFeature(tf.int64),
        "empty_ids": tf.io.VarLenFeature(tf.int64), "prices": tf.io.FixedLenFeature([3], tf.float32),
        "label": tf.io.FixedLenFeature([], tf.int64)})
    assert tf.io.decode_raw(parsed["image"], tf.uint8).numpy().tolist() == [255] * 6
    assert parsed["ids"].values.numpy().tolist() == [5, 6] and parsed["empty_ids"].values.shape == (0,)
    assert parsed["prices"].numpy().tolist() == [1.0, 2.0, 3.0] and int(parsed["label"]) == 3


def test_a_wrong_image_size_is_refused():
    with pytest.raises(EncodingError, match="feature 'image': expected 6 uint8 values, got 5 uint8"):
        encode_example({"image": np.zeros(5, np.uint8)}, FEATURES)
