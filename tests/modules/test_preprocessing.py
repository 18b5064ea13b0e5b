"""Transform tests run Transform: tft_beam.AnalyzeAndTransformDataset on a few hand-made rows."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.sources.tabular import IRIS
from modules.features import Feature, FeatureSet, image_set, transformed_name
from modules.preprocessing import make_transform_custom_config, preprocessing_fn
from modules.spec_sections import Pad, TransformConfig
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


def test_rescale_maps_raw_pixels_to_minus_one_one():
    """002's CIFAR MyDense network reads 2 * x / 255 - 1: `rescale {scale: 2/255, offset: -1}`."""
    pixels = np.array([[[0, 255, 51]], [[102, 204, 153]]], dtype=np.uint8)
    rows = [{"image": [p.tobytes()], "label": [i]} for i, p in enumerate(pixels)]
    feature_spec = {"image": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}
    result = _run({"features": {"image": {"kind": "rescale", "scale": 2 / 255, "offset": -1.0}}}, rows, feature_spec,
                  features=image_set(1, 3, 1, 10))
    images = np.array([row["image_xf"] for row in result.rows])
    np.testing.assert_allclose(images, pixels.astype(np.float64) * 2 / 255 - 1, rtol=1e-6, atol=1e-6)
    assert images.min() == pytest.approx(-1.0) and images.max() == pytest.approx(1.0)


# ---- sequences (issue 6): vocabulary + padding, Keras' num_words, one-hot letters, scaled labels


def _texts(rows: list[str]) -> list[dict]:
    return [{"text": [t.encode()], "label": [i % 2]} for i, t in enumerate(rows)]


TEXT_SPEC = {"text": tf.io.FixedLenFeature([1], tf.string), "label": tf.io.FixedLenFeature([1], tf.int64)}


def _vocabulary_run(texts: list[str], vocab_size: int, length: int, **options):
    from components.sources.text import IMDB_TEXT

    transform = {"features": {"text": {"kind": "vocabulary", "vocab_size": vocab_size, "length": length, **options}}}
    return [np.asarray(row["text_xf"]).tolist() for row in _run(transform, _texts(texts), TEXT_SPEC, IMDB_TEXT).rows]


def test_vocabulary_keeps_the_most_frequent_words_and_pads_pre():
    texts = ["the movie was great", "The movie was BAD<br />bad", "", "great great movie, the end"]
    ids = _vocabulary_run(texts, vocab_size=5, length=6)
    # Counts: movie 3, great 3, the 3, bad 2, was 2, end 1. Top 3 (vocab_size - 2) by frequency, ties
    # by TFT's order; 0 pads; 4 (= vocab_size - 1) is every other word.
    assert all(len(row) == 6 for row in ids)
    assert ids[2] == [0] * 6                              # an empty review is all padding
    kept = {i for row in ids for i in row} - {0, 4}
    assert kept == {1, 2, 3}
    assert ids[0][:2] == [0, 0] and 0 not in ids[0][2:]   # 4 words, pre-padded to 6
    assert ids[1][-2:] == [4, 4]                          # 'bad' twice (after <br />): not kept
    assert ids[3][-1] == 4                                # 'end' (seen once): not kept


def test_vocabulary_truncates_long_reviews_as_pad_sequences_does():
    """Ten distinct words, each kept (seen in both rows): cut to 5 from the front ('pre', the
    course's) or from the back ('post')."""
    review = [" ".join(f"w{i}" for i in range(10))] * 2
    whole = _vocabulary_run(review, vocab_size=12, length=10)[0]
    assert 0 not in whole and len(set(whole)) == 10
    assert _vocabulary_run(review, vocab_size=12, length=5, truncating="pre")[0] == whole[5:]
    assert _vocabulary_run(review, vocab_size=12, length=5, truncating="post")[0] == whole[:5]


def test_pad_with_num_words_matches_keras_imdb_and_pad_sequences():
    from components.sources.text import IMDB_IDS

    sequences = [[1, 14, 22, 16], [1, 9999, 10000, 12345, 5, 6, 7], []]
    rows = [{"word_ids": s, "label": [0]} for s in sequences]
    spec = {"word_ids": tf.io.VarLenFeature(tf.int64), "label": tf.io.FixedLenFeature([1], tf.int64)}
    transform = {"features": {"word_ids": {"kind": "pad", "length": 5, "num_words": 10000}}}
    got = [np.asarray(row["word_ids_xf"]).tolist() for row in _run(transform, rows, spec, IMDB_IDS).rows]
    capped = [[w if w < 10000 else 2 for w in s] for s in sequences]  # imdb.load_data(num_words=10000)
    expected = keras.preprocessing.sequence.pad_sequences(capped, maxlen=5, padding="pre", truncating="pre")
    assert got == expected.tolist()


def test_one_hot_letters_keep_their_steps():
    from components.sources.sequences import letters_set

    rows = [{"letters": [0, 1, 2, 3], "next_letter": [4]}, {"letters": [1, 2, 3, 4], "next_letter": [0]}]
    spec = {"letters": tf.io.FixedLenFeature([4], tf.int64), "next_letter": tf.io.FixedLenFeature([1], tf.int64)}
    result = _run({"features": {"letters": {"kind": "one_hot", "depth": 5}}}, rows, spec, letters_set(4, 5))
    np.testing.assert_array_equal(np.asarray(result.rows[0]["letters_xf"]), np.eye(5)[[0, 1, 2, 3]])
    ids = _run({"features": {"letters": "ids"}}, rows, spec, letters_set(4, 5))
    assert ids.feature_spec["letters_xf"].dtype == tf.int64


def test_scale_like_label_uses_the_inputs_min_and_max():
    from components.sources.sequences import prices_set

    rows = [{"prices": [10.0, 20.0, 30.0], "next_price": [40.0]}, {"prices": [20.0, 30.0, 40.0], "next_price": [50.0]}]
    spec = {"prices": tf.io.FixedLenFeature([3], tf.float32), "next_price": tf.io.FixedLenFeature([1], tf.float32)}
    transform = {"features": {"prices": "scale_to_0_1"}, "label": {"kind": "scale_like", "feature": "prices"}}
    result = _run(transform, rows, spec, prices_set(3))
    np.testing.assert_allclose(result.rows[0]["prices_xf"], [0.0, 1 / 3, 2 / 3], rtol=1e-6)
    np.testing.assert_allclose([float(r["next_price_xf"]) for r in result.rows], [1.0, 4 / 3], rtol=1e-6)
    assert float(result.rows[0]["next_price_xf_offset"]) == 10.0 and float(result.rows[0]["next_price_xf_range"]) == 30.0


TAXI_LIKE_SPEC = {
    "company": tf.io.VarLenFeature(tf.string),
    "hour": tf.io.FixedLenFeature([1], tf.int64),
    "fare": tf.io.VarLenFeature(tf.float32),
    "tipped": tf.io.FixedLenFeature([1], tf.int64),
}
TAXI_LIKE = FeatureSet(
    features=("company", "hour", "fare"), label="tipped", num_classes=2,
    kinds={"company": Feature("text"), "hour": Feature("int")},
)
TAXI_TRAIN = [
    {"company": [b"Flash"], "hour": [7], "fare": [10.0], "tipped": [1]},
    {"company": [b"Flash"], "hour": [7], "fare": [], "tipped": [0]},
    {"company": [b"Yellow"], "hour": [19], "fare": [30.0], "tipped": [1]},
    {"company": [], "hour": [19], "fare": [20.0], "tipped": [0]},
]
TAXI_EVAL = [
    {"company": [b"Flash"], "hour": [7], "fare": [10.0], "tipped": [1]},
    {"company": [b"Unseen Cab"], "hour": [3], "fare": [], "tipped": [0]},
]


def _taxi_run(transform: dict, apply_to=None):
    config = make_transform_custom_config(TransformConfig.model_validate({"features": transform}), TAXI_LIKE)
    return run_preprocessing_fn(preprocessing_fn, TAXI_TRAIN, TAXI_LIKE_SPEC, config, apply_to=apply_to)


def test_categorical_vocabulary_is_computed_on_train_and_unseen_values_get_the_oov_id():
    result = _taxi_run({"company": {"kind": "categorical", "top_k": 5, "output": "ids", "fill": ""},
                        "hour": {"kind": "categorical", "top_k": 5, "output": "ids"}}, apply_to=TAXI_EVAL)
    company = [int(np.ravel(row[transformed_name("company")])[0]) for row in result.rows]
    hour = [int(np.ravel(row[transformed_name("hour")])[0]) for row in result.rows]
    # Train vocabulary by frequency: Flash (2), Yellow (1); tf.Transform keeps no empty string, so
    # the filled missing company is out of vocabulary, as is the company the training split never saw.
    assert company[0] == 0
    assert company[1] == 2
    assert hour[0] in (0, 1) and hour[1] == 2  # hours 7 and 19 in train; 3 is unseen


def test_categorical_one_hot_width_is_top_k_plus_oov_buckets():
    result = _taxi_run({"company": {"kind": "categorical", "top_k": 4, "oov_buckets": 2, "fill": "none"}})
    vectors = np.array([np.ravel(row[transformed_name("company")]) for row in result.rows])
    assert vectors.shape == (4, 6)
    assert (vectors.sum(axis=1) == 1).all()
    assert vectors[0].argmax() == vectors[1].argmax() == 0  # Flash, the most frequent


def test_fill_completes_missing_numbers_before_zscore_and_bucketize():
    result = _taxi_run({"fare": {"kind": "zscore", "fill": 20.0},
                        "hour": {"kind": "bucketize", "num_buckets": 2, "output": "ids"}})
    fares = np.array([np.ravel(row[transformed_name("fare")])[0] for row in result.rows])
    # Filled: 10, 20, 30, 20 -> mean 20: the filled example sits at 0.
    assert fares[1] == pytest.approx(0.0, abs=1e-6)
    assert fares.mean() == pytest.approx(0.0, abs=1e-6)
    buckets = [int(np.ravel(row[transformed_name("hour")])[0]) for row in result.rows]
    assert buckets[0] == buckets[1] < buckets[2] == buckets[3]



def test_scalar_numbers_are_scaled_through_one_analyzer_per_kind_with_each_feature_s_own_statistics(monkeypatch):
    """Wide tables: one `scale_to_z_score` for all z-scored scalars, not one per column (300
    columns took 79 s of Transform that way, `python -m benchmarks.wide_table`), with the same
    mean and deviation per feature, a filled gap included."""
    import tensorflow_transform as tft

    from modules import preprocessing

    calls: list[str] = []
    original = tft.scale_to_z_score

    def counted(x, *args, **kwargs):
        calls.append(x.name)
        return original(x, *args, **kwargs)

    monkeypatch.setattr(tft, "scale_to_z_score", counted)
    monkeypatch.setitem(preprocessing._JOINT_SCALINGS, preprocessing.ZScore, counted)
    result = _taxi_run({"fare": {"kind": "zscore", "fill": 20.0}, "hour": "zscore"})
    assert calls and set(calls) == {"zscore_together/concat:0"}, calls  # one call per trace (TFT traces a few times)
    fares = np.array([np.ravel(row[transformed_name("fare")])[0] for row in result.rows])
    hours = np.array([np.ravel(row[transformed_name("hour")])[0] for row in result.rows])
    for got, raw in ((fares, [10.0, 20.0, 30.0, 20.0]), (hours, [7, 7, 19, 19])):
        np.testing.assert_allclose(got, (np.array(raw) - np.mean(raw)) / np.std(raw), rtol=1e-5)
    assert result.feature_spec[transformed_name("fare")].shape == [1]
