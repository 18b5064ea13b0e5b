"""How a model is fitted: the spec's loss, optimizer and metrics, and the course's two styles.

- `fit`: Keras `compile` / `fit`, as most course models train;
- `gradient_tape`: the course's own loop (004 M2, 000/001): per batch, a `tf.GradientTape` over
  the loss and `w.assign_sub(learning_rate * grad)` for every trainable variable;
- `gan` / `wgan_gp`: a generator and a discriminator (`modules.models.gan.Gan`), each with its own
  copy of the spec's optimizer, in the course's alternating loop, which is the model's `train_step`
  under Keras `fit`.

Both take the same datasets and leave a compiled Keras model, exported the same way.
"""
from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import tensorflow as tf
import tf_keras as keras

from modules.autograph import skip_library_conversion
from modules.curves import EpochHistory
from modules.spec_sections import GAN_STYLES, OptimizerConfig, ProfitLoss, TrainingConfig

logger = logging.getLogger(__name__)
skip_library_conversion()  # before any train step is traced (modules.autograph says why)

_OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
}
_LOSSES = {
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
    "mean_absolute_error": keras.losses.MeanAbsoluteError,
}
_LOSSES_WITH_LOGITS = {
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
}


class ProfitLossFunction(keras.losses.Loss):
    """004 M5: COST per unit sold over demand, PROFIT per unit of demand missed, summed over the
    batch as the course's `tf.reduce_sum` does."""

    def __init__(self, cost: float, profit: float, name: str = "profit_loss") -> None:
        super().__init__(reduction=keras.losses.Reduction.SUM, name=name)
        self.cost, self.profit = cost, profit

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        y_true = tf.cast(y_true, y_pred.dtype)
        return tf.where(tf.greater(y_pred, y_true), (y_pred - y_true) * self.cost, (y_true - y_pred) * self.profit)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cost": self.cost, "profit": self.profit}


def make_loss(training: TrainingConfig) -> keras.losses.Loss:
    """The spec's loss as a Keras loss object."""
    if isinstance(training.loss, ProfitLoss):
        return ProfitLossFunction(training.loss.cost, training.loss.profit)
    loss_class = _LOSSES[training.loss]
    if training.loss in _LOSSES_WITH_LOGITS:
        return loss_class(from_logits=training.from_logits)
    return loss_class()


def per_example_loss(training: TrainingConfig) -> keras.losses.Loss:
    """The spec's loss without the batch reduction: one value per example, for serving."""
    loss = make_loss(training)
    loss.reduction = keras.losses.Reduction.NONE
    return loss


def make_optimizer(config: OptimizerConfig) -> keras.optimizers.Optimizer:
    """The spec's optimizer (Adam's beta_1 when given)."""
    extra = {"beta_1": config.beta_1} if config.beta_1 is not None else {}
    return _OPTIMIZERS[config.name](learning_rate=config.learning_rate, **extra)


def compile_model(model: keras.Model, training: TrainingConfig) -> None:
    """`model.compile` with the course's optimizer, loss and metrics named in the spec; a GAN gets
    one optimizer per network and the style's losses."""
    if training.style in GAN_STYLES:
        model.compile(generator_optimizer=make_optimizer(training.optimizer),
                      discriminator_optimizer=make_optimizer(training.optimizer),
                      loss=training.style, gradient_penalty_weight=training.gradient_penalty,
                      jit_compile=training.accelerator.xla)
        return
    model.compile(
        optimizer=make_optimizer(training.optimizer),
        loss=make_loss(training),
        metrics=list(training.metrics),
        jit_compile=training.accelerator.xla,
    )


@dataclass
class FitTime:
    """A fit's wall seconds and the process's CPU seconds in it (every thread's, TensorFlow's
    included). On a shared machine other tenants' load stretches wall time more than CPU time
    (waiting for a core counts in one only), though a busy host slows both."""

    seconds: float = float("nan")
    cpu_seconds: float = float("nan")


@contextlib.contextmanager
def timed() -> Iterator[FitTime]:
    """Times the block; the yielded `FitTime` is filled in when the block ends."""
    measured = FitTime()
    started, cpu_started = time.perf_counter(), time.process_time()
    yield measured
    measured.seconds, measured.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started


class EpochLogger(keras.callbacks.Callback):
    """Logs the metrics every `every` epochs (and the last), instead of Keras' line per epoch."""

    def __init__(self, epochs: int, every: int) -> None:
        super().__init__()
        self._epochs, self._every = epochs, max(every, 1)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        number = epoch + 1
        if number % self._every == 0 or number == self._epochs:
            metrics = " - ".join(f"{name}: {value:.4f}" for name, value in (logs or {}).items())
            logger.info("epoch %d/%d - %s", number, self._epochs, metrics)


class ThroughputMeter(keras.callbacks.Callback):
    """Training throughput: batches x batch size over the time spent on training batches.

    Each epoch counts from its start to the start of its validation (or its end, in an epoch
    not validated), so validation is left out; the first epoch (tracing, filling the input cache)
    is also reported apart. The Trainer and the plain-Keras benchmark use this same meter, so their
    figures compare like with like.

    It has no per-batch hook on purpose: when any callback has one, Keras calls every callback's
    batch hooks after every batch, and TensorBoard's then passes each batch's metrics to
    `tf.summary.scalar` (a plain script with no callbacks pays none of that). It reads no logs
    either, so Keras need not convert them to NumPy for it.
    """

    def __init__(self, batch_size: int) -> None:
        super().__init__()
        self._supports_tf_logs = True
        self.batch_size = batch_size
        self.epoch_seconds: list[float] = []
        self.epoch_batches: list[int] = []
        self._epoch_start = 0.0
        self._training_end: float | None = None
        self._steps: int | None = None  # batches per epoch, when `fit` knows them
        self._batches_at_start = 0

    def _batches_so_far(self) -> int:
        # Keras' own count of training batches (TensorBoard's step counter too); the optimizer's
        # `iterations` is one ahead after an epoch of unknown length.
        return int(self.model._train_counter.numpy())

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._steps = (self.params or {}).get("steps")
        if self._steps is None:  # batches per epoch unknown: count them
            self._batches_at_start = self._batches_so_far()
        self._training_end = None
        self._epoch_start = time.perf_counter()

    def on_test_begin(self, logs: Mapping[str, float] | None = None) -> None:
        if self._training_end is None:
            self._training_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        end = self._training_end if self._training_end is not None else time.perf_counter()
        self.epoch_seconds.append(end - self._epoch_start)
        self.epoch_batches.append(self._steps if self._steps is not None
                                  else self._batches_so_far() - self._batches_at_start)

    def examples_per_second(self, skip_first_epoch: bool = False) -> float:
        """Training examples per second, over all epochs or over all but the first."""
        start = 1 if skip_first_epoch and len(self.epoch_seconds) > 1 else 0
        seconds = sum(self.epoch_seconds[start:])
        return sum(self.epoch_batches[start:]) * self.batch_size / seconds if seconds else 0.0


class HistoryRecorder(keras.callbacks.Callback):
    """Copies each epoch's logs into an `EpochHistory` (epochs counted from 1, as the course plots)."""

    def __init__(self, history: EpochHistory) -> None:
        super().__init__()
        self._history = history

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._history.record(epoch + 1, logs or {})


def epochs_of(train: tf.data.Dataset) -> tuple[tf.data.Dataset, int | None]:
    """What Keras `fit` iterates for `epochs` passes over `train`, and the batches per epoch.

    When `train` states its number of batches, the epochs are that many batches of
    `train.repeat()`: one iterator for the whole fit. Given a dataset of unknown length, Keras
    creates a new iterator every epoch, a few milliseconds each, which over the course's hundreds
    of tiny epochs (iris: 500 epochs of 4 batches) cost as much as the batches themselves. Each
    repetition still reshuffles, and a batch never spans two epochs, as before.
    """
    batches_per_epoch = int(train.cardinality())
    if batches_per_epoch > 0:
        return train.repeat(), batches_per_epoch
    return train, None


def fit_keras(
    model: keras.Model,
    training: TrainingConfig,
    train: tf.data.Dataset,
    evaluation: tf.data.Dataset,
    steps: int | None,
    history: EpochHistory,
    callbacks: Sequence[keras.callbacks.Callback],
) -> None:
    """Keras `fit`: `epochs` passes over `train` (`epochs_of`), or `steps` batches of a repeated `train`."""
    recorders = [HistoryRecorder(history), *callbacks]
    if training.epochs is not None:
        batches, batches_per_epoch = epochs_of(train)
        model.fit(batches, steps_per_epoch=batches_per_epoch, validation_data=evaluation,
                  validation_freq=training.validation_freq, epochs=training.epochs, verbose=0,
                  callbacks=[EpochLogger(training.epochs, training.validation_freq), *recorders])
    else:
        # verbose=0: Keras' progress lines go to stdout, which `coursepipe run --json` keeps for JSON.
        model.fit(train, validation_data=evaluation, epochs=1, steps_per_epoch=steps, verbose=0,
                  callbacks=[EpochLogger(1, 1), *recorders])


def fit_gradient_tape(
    model: keras.Model,
    training: TrainingConfig,
    train: tf.data.Dataset,
    evaluation: tf.data.Dataset,
    steps: int | None,
    history: EpochHistory,
    callbacks: Sequence[keras.callbacks.Callback],
) -> None:
    """The course's loop: loss under a GradientTape, then `w.assign_sub(lr * grad)` per variable.

    The model must be compiled (for `evaluate` and the export); its optimizer is not used.
    Keras callbacks do not apply to a hand-written loop; the history is recorded directly.
    """
    loss_object = make_loss(training)
    learning_rate = training.optimizer.learning_rate
    variables = model.trainable_variables

    @tf.function
    def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_object(y, model(x, training=True))
            if model.losses:
                loss += tf.add_n(model.losses)
        gradients = tape.gradient(loss, variables)
        for variable, gradient in zip(variables, gradients, strict=True):
            variable.assign_sub(learning_rate * gradient)
        return loss

    epochs = training.epochs if training.epochs is not None else 1
    batches = train if training.epochs is not None else train.take(steps or 0)
    every = max(training.validation_freq, 1)
    for epoch in range(1, epochs + 1):
        total, count = 0.0, 0
        for x, y in batches:
            total += float(train_step(x, y))
            count += 1
        history.record(epoch, {"loss": total / max(count, 1)})
        if epoch % every == 0 or epoch == epochs:
            results = model.evaluate(evaluation, verbose=0, return_dict=True)
            history.record(epoch, {f"val_{name}": value for name, value in results.items()})
            shown = " - ".join(f"val_{name}: {value:.4f}" for name, value in results.items())
            logger.info("epoch %d/%d - loss: %.4f - %s", epoch, epochs, total / max(count, 1), shown)


FIT_STYLES = {"fit": fit_keras, "gradient_tape": fit_gradient_tape, "gan": fit_keras, "wgan_gp": fit_keras}
# Styles fitted by Keras `fit`, which runs callbacks (the hand-written loop runs none).
KERAS_FIT_STYLES = ("fit", *GAN_STYLES)


class DivergedError(ValueError):
    """Training ended with a loss that is not a number: the model must not be exported or blessed."""


def check_finite_losses(history: EpochHistory) -> None:
    """Refuses a model whose last training or evaluation loss is NaN or infinite. Its accuracy can
    still pass a gate (argmax of NaN scores is class 0), so the Trainer fails instead: nothing is
    exported, blessed or pushed, and what was served stays."""
    for name, points in history.values.items():
        if not name.endswith("loss") or not points or math.isfinite(points[-1][1]):
            continue
        first = next(epoch for epoch, value in points if not math.isfinite(value))
        raise DivergedError(f"training diverged: {name} is {points[-1][1]} after epoch {points[-1][0]} (not finite "
                            f"since epoch {first}); no model is exported: lower the learning rate, or check the data "
                            "for extreme values")


def fit(model: keras.Model, training: TrainingConfig, train: tf.data.Dataset,
        evaluation: tf.data.Dataset, steps: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = ()) -> EpochHistory:
    """Fits `model` in the spec's style; returns the per-epoch history; logs the learned weights
    when the spec asks."""
    history = EpochHistory()
    FIT_STYLES[training.style](model, training, train, evaluation, steps, history, callbacks)
    check_finite_losses(history)
    if training.report_weights:
        for weight in model.weights:
            logger.info("learned %s = %s", weight.name, weight.numpy().round(4).tolist())
    return history
