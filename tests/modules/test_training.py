"""Training styles and losses against the course's own code, step for step."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from modules.fitting import DivergedError, ProfitLossFunction, ThroughputMeter, compile_model, fit
from modules.registry import build_model
from modules.spec_sections import TrainingConfig
from modules.trainer import train_model
from pipelines.spec.pipeline_spec import load_spec


def _dataset(x, y, batch_size):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def test_gradient_tape_style_is_the_courses_loop():
    """004 M2: with tape: y = softmax(x @ w1 + b1); loss = mse(one_hot, y); w1.assign_sub(lr * grad)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=10)]
    training = TrainingConfig(style="gradient_tape", epochs=3, batch_size=4, optimizer={"name": "sgd", "learning_rate": 0.1},
                              loss="mean_squared_error")
    model = build_model("iris_tape", {"input_shape": [4]})
    compile_model(model, training)
    w1, b1 = (tf.Variable(v) for v in model.get_weights())
    for _ in range(3):  # the course's loop, verbatim but for names
        for step in range(0, 10, 4):
            x_batch, y_batch = x[step:step + 4], y[step:step + 4]
            with tf.GradientTape() as tape:
                out = tf.nn.softmax(tf.matmul(x_batch, w1) + b1)
                loss = tf.reduce_mean(tf.square(y_batch - out))
            grads = tape.gradient(loss, [w1, b1])
            w1.assign_sub(0.1 * grads[0])
            b1.assign_sub(0.1 * grads[1])
    fit(model, training, _dataset(x, y, 4), _dataset(x, y, 4))
    np.testing.assert_allclose(model.get_weights()[0], w1.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b1.numpy(), rtol=1e-5, atol=1e-6)


def test_gradient_tape_adds_the_models_regularization_losses():
    x = np.ones((4, 2), "float32")
    y = np.zeros((4, 1), "float32")
    training = TrainingConfig(style="gradient_tape", epochs=1, batch_size=4, optimizer={"name": "sgd", "learning_rate": 0.5},
                              loss="mean_squared_error")
    plain = build_model("dot_mlp", {"input_shape": [2], "seed": 1})
    regularized = build_model("dot_mlp", {"input_shape": [2], "seed": 1, "l2_loss_weight": 0.5})
    for model in (plain, regularized):
        compile_model(model, training)
        fit(model, training, _dataset(x, y, 4), _dataset(x, y, 4))
    assert not np.allclose(plain.get_weights()[0], regularized.get_weights()[0])


def test_profit_loss_is_the_courses_formula():
    """004 M5: tf.reduce_sum(tf.where(tf.greater(y, y_), (y - y_) * COST, (y_ - y) * PROFIT))."""
    y_true = tf.constant([[1.0], [2.0], [3.0]])
    y_pred = tf.constant([[1.5], [1.0], [3.0]])
    expected = tf.reduce_sum(tf.where(tf.greater(y_pred, y_true), (y_pred - y_true) * 1.0, (y_true - y_pred) * 99.0))
    assert float(ProfitLossFunction(cost=1, profit=99)(y_true, y_pred)) == pytest.approx(float(expected))
    assert float(expected) == pytest.approx(0.5 + 99.0)


def test_gradient_tape_needs_sgd():
    with pytest.raises(ValueError, match="expected optimizer sgd, got 'adam'"):
        TrainingConfig(style="gradient_tape", epochs=1, optimizer={"name": "adam", "learning_rate": 0.1},
                       loss="mean_squared_error")


@pytest.mark.slow
@pytest.mark.parametrize("loss, expected", [
    ("mean_squared_error", [1.0010, 0.9977]),
    ({"name": "profit", "cost": 1, "profit": 99}, [1.1626, 1.1192]),
    ({"name": "profit", "cost": 99, "profit": 1}, [0.9205, 0.9186]),
])
def test_yogurt_weights_match_the_course(loss, expected):
    """004 M4/M5 on the course's generated yogurt data: the learned w1 the course prints."""
    from components.sources import get_source
    from components.splits import ALL_RECORDS

    rows = get_source("yogurt").read([], get_source("yogurt").parse_options({}))[ALL_RECORDS]
    x = np.array([[r["x1"], r["x2"]] for r in rows], "float32")
    y = np.array([[r["y"]] for r in rows], "float32")
    epochs = 15000 if loss == "mean_squared_error" else 10000
    training = TrainingConfig(style="gradient_tape", epochs=epochs, batch_size=32, validation_freq=epochs,
                              optimizer={"name": "sgd", "learning_rate": 0.002}, loss=loss)
    model = build_model("yogurt_linear", {"input_shape": [2], "seed": 1})
    compile_model(model, training)
    fit(model, training, _dataset(x, y, 32).cache(), _dataset(x, y, 32))
    np.testing.assert_allclose(model.get_weights()[0].ravel(), expected, atol=2e-3)


def test_course_initializer_draws_what_the_courses_first_eager_call_draws():
    """Run the course's line first thing in a fresh interpreter, then compare with the initializer
    after other random draws in this one."""
    import subprocess
    import sys

    from modules.initializers import CourseRandomNormal

    course = subprocess.run(
        [sys.executable, "-c", "import tensorflow as tf; "
         "print(tf.random.normal([2, 1], stddev=1, seed=1).numpy().ravel().tolist())"],
        capture_output=True, text=True, check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    ).stdout.strip().splitlines()[-1]
    tf.random.normal([2, 1], stddev=1, seed=1)  # advance this process's stream: must not matter
    np.testing.assert_allclose(CourseRandomNormal(1.0, 1)((2, 1)).ravel(), eval(course), rtol=1e-6)


class _BatchRecorder(keras.Model):
    """A linear model that notes the labels of every batch it trains on (run eagerly)."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.batches: list[list[int]] = []

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):
        self.batches.append(sorted(int(v) for v in data[1].numpy()))
        return super().train_step(data)


def test_keras_fit_runs_all_epochs_through_one_iterator_with_the_same_epochs(monkeypatch):
    """A training split that states its batches per epoch (the Trainer's shuffled, cached split) is
    fitted through one iterator: Keras would create one per epoch, milliseconds each, which over
    iris' 500 epochs of 4 batches cost about as much as the batches. The epochs stay what they
    were: every example once per epoch, reshuffled, no batch spanning two epochs."""
    iterators = []
    original_iter = tf.data.Dataset.__iter__
    monkeypatch.setattr(tf.data.Dataset, "__iter__", lambda self: iterators.append(self) or original_iter(self))
    x, y = np.arange(10, dtype="float32")[:, None], np.arange(10, dtype="float32")
    train = (tf.data.Dataset.from_tensor_slices((x, y)).cache()
             .shuffle(10, seed=3, reshuffle_each_iteration=True)
             .apply(tf.data.experimental.assert_cardinality(10)).batch(4))
    training = TrainingConfig(epochs=3, batch_size=4, validation_freq=5, optimizer={"name": "sgd", "learning_rate": 0.01},
                              loss="mean_squared_error")
    model = _BatchRecorder()
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    history = fit(model, training, train, _dataset(x, y, 4))

    assert len(iterators) == 1
    assert len(history.values["loss"]) == 3
    epochs = [model.batches[i:i + 3] for i in range(0, 9, 3)]
    assert len(model.batches) == 9 and all([len(b) for b in epoch] == [4, 4, 2] for epoch in epochs)
    assert all(sorted(v for b in epoch for v in b) == list(range(10)) for epoch in epochs)
    assert len({tuple(map(tuple, epoch)) for epoch in epochs}) > 1  # reshuffled between epochs


def test_trainer_fit_calls_no_batch_hooks_and_still_meters_each_epoch(monkeypatch, tmp_path):
    """A plain script's `fit` runs no callback between batches. The Trainer's callbacks (TensorBoard,
    the throughput meter) must not bring any: one per-batch hook makes Keras call every callback's,
    and TensorBoard's then passes each batch's metrics to `tf.summary.scalar`. The meter still
    times every epoch's training batches."""
    tensorboard_batch_calls = []
    original = keras.callbacks.TensorBoard.on_train_batch_end
    monkeypatch.setattr(keras.callbacks.TensorBoard, "on_train_batch_end",
                        lambda self, batch, logs=None: tensorboard_batch_calls.append(batch) or original(self, batch, logs))
    spec = load_spec("iris_softmax")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4)).astype("float32")
    y = rng.integers(0, 3, size=10)
    train = (tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(10, seed=1)
             .apply(tf.data.experimental.assert_cardinality(10)).batch(4))
    training = spec.training.model_copy(update={"epochs": 3, "validation_freq": 2})

    trained = train_model(spec.model, training, train, _dataset(x, y, 4), str(tmp_path))

    assert tensorboard_batch_calls == []
    stats = trained.stats
    assert len(stats["epoch_seconds"]) == 3 and all(seconds > 0 for seconds in stats["epoch_seconds"])
    assert stats["examples_per_second"] > 0
    assert os.listdir(tmp_path / "logs")  # TensorBoard still logs each epoch


@pytest.mark.parametrize("states_its_length", [True, False])
def test_throughput_meter_counts_each_epochs_batches_without_a_batch_hook(states_its_length):
    """Batches per epoch come from `fit`'s steps, or, for a dataset of unknown length, from
    Keras' count of training batches."""
    x, y = np.ones((10, 2), "float32"), np.zeros((10, 1), "float32")
    train = _dataset(x, y, 4)
    if not states_its_length:
        train = train.filter(lambda x, y: True)  # filtering hides the length
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    meter = ThroughputMeter(batch_size=4)
    model.fit(train, epochs=3, validation_data=_dataset(x, y, 4), verbose=0, callbacks=[meter])
    assert meter.epoch_batches == [3, 3, 3] and len(meter.epoch_seconds) == 3
    assert meter.examples_per_second() == pytest.approx(9 * 4 / sum(meter.epoch_seconds))


def test_a_diverged_fit_fails_instead_of_exporting_a_nan_model():
    """A learning rate far too large: the loss overflows; `fit` refuses the model."""
    x = np.linspace(-1, 1, 32, dtype="float32").reshape(-1, 2) * 1e3
    y = (x[:, :1] * 3.0).astype("float32")
    training = TrainingConfig(style="fit", epochs=3, batch_size=8, optimizer={"name": "sgd", "learning_rate": 1e12},
                              loss="mean_squared_error")
    model = build_model("dot_mlp", {"input_shape": [2], "seed": 1})
    compile_model(model, training)
    with pytest.raises(DivergedError, match=r"training diverged: loss is (nan|inf) after epoch 3 \(not finite since "
                                            r"epoch \d\); no model is exported"):
        fit(model, training, _dataset(x, y, 8), _dataset(x, y, 8))
