"""Transform tests run Transform: tft_beam.AnalyzeAndTransformDataset on a few hand-made rows."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from modules.config import Pad, TransformConfig
from modules.features import IRIS, image_set, transformed_name
from modules.preprocessing import make_transform_custom_config, preprocessing_fn
from modules.testing import run_preprocessing_fn

IRIS_ROWS = [
    {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4], "petal_width": [0.2], "species": [0]},
    {"sepal_length": [7.0], "sepal_width": [3.2], "petal_length": [4.7], "petal_width": [1.4], "species": [1]},
    {"sepal_length": [6.3], "sepal_width": [3.3], "petal_length": [6.0], "petal_width": [2.5], "species": [2]},
    {"sepal_length": [4.9], "sepal_width": [3.0], "petal_length": [1.4], "petal_width": [0.2], "species": [0]},
    {"sepal_length": [5.8], "sepal_width": [2.7], "petal_length": [5.1], "petal_width": [1.9], "species": [2]},
]
IRIS_FEATURE_SPEC = {
    **{name: tf.io.FixedLenFeature([1], tf.float32) for name in IRIS.features},
    IRIS.label: tf.io.FixedLenFeature([1], tf.int64),
}


def _run(transform: dict, rows=IRIS_ROWS, feature_spec=IRIS_FEATURE_SPEC, features=IRIS):
    config = make_transform_custom_config(TransformConfig.model_validate(transform), features)
    return run_preprocessing_fn(preprocessing_fn, rows, feature_spec, config)


def test_zscore_gives_mean_0_std_1_and_keeps_the_label_raw(iris_spec):
    result = _run(iris_spec.transform.model_dump(mode="json"))
    for name in IRIS.features:
        values = np.array([row[transformed_name(name)] for row in result.rows]).ravel()
        assert values.mean() == pytest.approx(0.0, abs=1e-5)
        assert values.std() == pytest.approx(1.0, abs=1e-4)
    assert [int(np.ravel(row[IRIS.label])[0]) for row in result.rows] == [0, 1, 2, 0, 2]
    assert set(result.feature_spec) == {*map(transformed_name, IRIS.features), IRIS.label}
    assert result.feature_spec[transformed_name("sepal_length")].dtype == tf.float32
    assert result.feature_spec[IRIS.label].dtype == tf.int64


def test_scale_divide_and_identity():
    result = _run({"features": {"sepal_length": "scale_to_0_1",
                                "petal_length": {"kind": "divide", "divisor": 2.0},
                                "petal_width": "identity"}})
    scaled = np.array([row[transformed_name("sepal_length")] for row in result.rows]).ravel()
    assert scaled.min() == pytest.approx(0.0) and scaled.max() == pytest.approx(1.0)
    halved = np.array([row[transformed_name("petal_length")] for row in result.rows]).ravel()
    np.testing.assert_allclose(halved, [0.7, 2.35, 3.0, 0.7, 2.55], rtol=1e-6)
    assert transformed_name("sepal_width") not in result.feature_spec  # not listed: not a model input


def test_one_hot_of_an_integer_category():
    rows = [{"c": [0]}, {"c": [2]}, {"c": [1]}]
    result = _run({"features": {"c": {"kind": "one_hot", "depth": 3}}}, rows,
                  {"c": tf.io.FixedLenFeature([1], tf.int64)}, features=None)
    np.testing.assert_array_equal([row["c_xf"] for row in result.rows], np.eye(3)[[0, 2, 1]])


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_matches_keras_pad_sequences(padding, truncating):
    sequences = [[], [5], [1, 2, 3], [1, 2, 3, 4, 5, 6, 7]]  # empty, short, exact, over-long
    rows = [{"tokens": np.array(s, dtype=np.int64)} for s in sequences]
    transform = Pad(length=3, padding=padding, truncating=truncating)
    result = _run({"features": {"tokens": transform.model_dump()}}, rows,
                  {"tokens": tf.io.VarLenFeature(tf.int64)}, features=None)
    expected = keras.preprocessing.sequence.pad_sequences(
        sequences, maxlen=3, padding=padding, truncating=truncating, value=0)
    np.testing.assert_array_equal([row["tokens_xf"] for row in result.rows], expected)


def test_raw_uint8_images_are_decoded_to_their_shape_then_scaled():
    """Images are stored as one bytes value of raw pixels; Transform restores [batch, h, w] / 255."""
    pixels = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3) * 20
    rows = [{"image": [p.tobytes()], "label": [i]} for i, p in enumerate(pixels)]
    feature_spec = {"image": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}
    result = _run({"features": {"image": {"kind": "divide", "divisor": 255.0}}}, rows, feature_spec,
                  features=image_set(2, 3, 1, 10))
    images = np.array([row["image_xf"] for row in result.rows])
    assert images.shape == (2, 2, 3)
    np.testing.assert_allclose(images, pixels / 255.0, rtol=1e-6)
    assert result.feature_spec["image_xf"].shape == [2, 3]
