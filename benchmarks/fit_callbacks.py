"""What the Trainer's Keras callbacks cost a fit, against the same fit with none (a plain script).

One process, mnist_mlp's model and batch size on 60,000 random MNIST-shaped pictures (10,000 to
validate on), through the Trainer's input shape (cached, reshuffled, one iterator for all epochs).
Variants alternate within each repeat, so all see the same machine load:

- `none`: no callbacks, as the plain Keras script runs;
- `trainer`: the Trainer's callbacks (the throughput meter, TensorBoard);
- `trainer+batch hook`: the same plus one callback that does nothing but has a per-batch hook, as
  the throughput meter had before issue 22: Keras then calls every callback's batch hooks after
  every batch, TensorBoard's included, which passes each batch's metrics to `tf.summary.scalar`.

Wall and CPU seconds of each fit, medians.

    python -m benchmarks.fit_callbacks [--repeats 3] [--epochs 2]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
from collections.abc import Callable, Mapping

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
import tf_keras as keras

from benchmarks.logs import configure_logging
from modules.fitting import FitTime, ThroughputMeter, compile_model, epochs_of, timed
from modules.registry import build_model
from modules.trainer import batches_of
from pipelines.spec.pipeline_spec import load_spec

logger = logging.getLogger("benchmarks.fit_callbacks")
TRAIN, EVAL = 60_000, 10_000


class BatchHook(keras.callbacks.Callback):
    """Does nothing, after every batch (reading no logs, so Keras need not convert them)."""

    def __init__(self) -> None:
        super().__init__()
        self._supports_tf_logs = True

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        pass


def _datasets(batch_size: int) -> tuple[tf.data.Dataset, int, tf.data.Dataset]:
    """The training batches (all epochs through one iterator) and their number per epoch, and the
    validation batches, made as the Trainer makes them from its parsed examples."""
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, size=(TRAIN + EVAL, 28, 28)).astype(np.float32) / 255.0
    labels = rng.integers(0, 10, size=TRAIN + EVAL)
    train = tf.data.Dataset.from_tensor_slices((pictures[:TRAIN], labels[:TRAIN])).cache()
    evaluation = tf.data.Dataset.from_tensor_slices((pictures[TRAIN:], labels[TRAIN:])).cache()
    batches, per_epoch = epochs_of(batches_of(train, batch_size, repeat=False, shuffle=True, seed=1))
    return batches, per_epoch, batches_of(evaluation, batch_size, repeat=False, shuffle=False, seed=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    configure_logging()
    spec = load_spec("mnist_mlp")
    batch_size = spec.training.batch_size
    train, per_epoch, evaluation = _datasets(batch_size)  # the caches filled, as the Trainer's
    log_dir = tempfile.mkdtemp(prefix="fit-callbacks-")
    variants: dict[str, Callable[[], list[keras.callbacks.Callback]]] = {
        "none": lambda: [],
        "trainer": lambda: [ThroughputMeter(batch_size), keras.callbacks.TensorBoard(log_dir)],
        "trainer+batch hook": lambda: [ThroughputMeter(batch_size), keras.callbacks.TensorBoard(log_dir), BatchHook()],
    }
    times: dict[str, list[FitTime]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        for name, callbacks in variants.items():
            keras.utils.set_random_seed(repeat)
            model = build_model(spec.model.name, spec.model.hparams)
            compile_model(model, spec.training)
            with timed() as fit_time:
                model.fit(train, steps_per_epoch=per_epoch, epochs=args.epochs, validation_data=evaluation,
                          verbose=0, callbacks=callbacks())
            times[name].append(fit_time)
            logger.info("repeat %d %s: %.2f s, %.2f s of CPU", repeat, name, fit_time.seconds, fit_time.cpu_seconds)
    none_wall = statistics.median(t.seconds for t in times["none"])
    none_cpu = statistics.median(t.cpu_seconds for t in times["none"])
    logger.info("\n%d repeats of %d epochs (%d batches of %d), medians; %d CPU cores", args.repeats, args.epochs,
                per_epoch, batch_size, os.cpu_count() or 0)
    logger.info("| callbacks | fit s | x none | fit CPU s | x none |")
    logger.info("|---|---:|---:|---:|---:|")
    for name, measured in times.items():
        wall = statistics.median(t.seconds for t in measured)
        cpu = statistics.median(t.cpu_seconds for t in measured)
        logger.info("| %s | %.2f | %.2f | %.2f | %.2f |", name, wall, wall / none_wall, cpu, cpu / none_cpu)


if __name__ == "__main__":
    main()
