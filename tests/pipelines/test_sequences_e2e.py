"""Sequence pipelines end to end: IMDB raw text on the 100 real reviews the tfx wheel ships (the
served model takes a raw review), the stock model on a generated price series (min-max fitted on
the training days only, metrics in price units), and (slow) the four letters models reaching the
course's accuracy of 1.0."""
from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.example_gen import to_example
from components.sources import get_source, locate
from components.sources.sequences import prices_set
from components.sources.text import IMDB_IDS, IMDB_TEXT
from modules.export import TRANSFORM_SIGNATURE
from pipelines.spec.pipeline_spec import load_spec
from tests.components.formats import write_imdb_npz, write_prices_csv
from tests.conftest import spec_with
from tests.pipelines.runs import run_and_load_served, serve


def test_imdb_raw_text_end_to_end_serves_raw_reviews(tmp_path):
    spec = spec_with(load_spec("imdb_simplernn"), training={"epochs": 1}, evaluation={"lower_bound": 0.0})
    summary, serving = run_and_load_served(spec, tmp_path)

    assert summary.metrics["example_count"] == 20  # the course's 80/20 shuffle of the 100 reviews
    reviews = ["", "A wonderful, moving film.<br /><br />Loved it! " * 50, "zzyzx qwxpl"]  # empty, long, unknown
    probabilities = serve(serving, [{"text": r} for r in reviews], IMDB_TEXT)
    assert probabilities.shape == (3, 1) and ((probabilities >= 0) & (probabilities <= 1)).all()
    pushed = keras.models.load_model(summary.pushed_destination, compile=False)
    assert [layer.cell.dropout for layer in pushed.layers if isinstance(layer, keras.layers.RNN)] == [0.5, 0.5]


def test_stock_model_scales_on_training_days_and_reports_price_units(tmp_path):
    _, prices = write_prices_csv(tmp_path / "data", n_days=400)
    spec = spec_with(load_spec("stock_lstm"), training={"epochs": 2})
    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("prices_csv"), str(tmp_path / "data")))

    assert summary.metrics["root_mean_squared_error"] == pytest.approx(math.sqrt(summary.metrics["mean_squared_error"]), rel=1e-4)
    assert "mean_absolute_error" in summary.metrics
    train_days = prices[:-300]  # the last 300 days are the test days: never seen by the scaler
    features = prices_set(60)
    window = {"prices": prices[-61:-1].astype(np.float32)}
    transform = tf.saved_model.load(summary.pushed_destination).signatures[TRANSFORM_SIGNATURE]
    transformed = transform(examples=tf.constant([to_example({**window, "next_price": 0.0}, features).SerializeToString()]))
    assert float(transformed["next_price_xf_offset"][0]) == pytest.approx(train_days.min(), rel=1e-6)
    assert float(transformed["next_price_xf_range"][0]) == pytest.approx(train_days.max() - train_days.min(), rel=1e-5)
    predicted = serve(serving, [window], features)
    # Served in price units: near the last prices, not in the scaled [0, 1] range.
    assert abs(float(predicted[0, 0]) - float(prices[-1])) < 0.5 * (prices.max() - prices.min()) + 10


def test_imdb_integer_path_end_to_end_caps_and_pads_ids_in_transform(tmp_path):
    """Keras' imdb.npz layout (a fixture): ids >= num_words become 2, reviews padded to 80 in
    Transform; the served model takes the raw ids."""
    write_imdb_npz(tmp_path / "data")
    spec = spec_with(load_spec("imdb_lstm_ids"), training={"epochs": 1, "batch_size": 2},
                     evaluation={"lower_bound": 0.0})
    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("imdb"), str(tmp_path / "data")))

    assert summary.metrics["example_count"] == 2
    transform = tf.saved_model.load(summary.pushed_destination).signatures[TRANSFORM_SIGNATURE]
    raw = {"word_ids": [1, 50, 12345, 9999], "label": 1}
    transformed = transform(examples=tf.constant([to_example(raw, IMDB_IDS).SerializeToString()]))
    assert transformed["word_ids_xf"].numpy().tolist() == [[0] * 76 + [1, 50, 2, 9999]]
    assert serve(serving, [{"word_ids": raw["word_ids"]}], IMDB_IDS).shape == (1, 1)


@pytest.mark.slow
@pytest.mark.parametrize("spec_id", ["letters_onehot_1to1", "letters_onehot_4to1", "letters_embedding_1to1",
                                     "letters_embedding_4to1"])
def test_letters_models_reach_the_courses_accuracy(spec_id, tmp_path):
    summary, _ = run_and_load_served(load_spec(spec_id), tmp_path)
    assert summary.metrics["sparse_categorical_accuracy"] == 1.0
