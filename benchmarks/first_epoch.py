"""The first-epoch cost of a course model, with and without AutoGraph converting tf_keras.

Each measurement is a fresh process (first traces are per process): it builds the spec's model
through the registry, compiles it as the Trainer does, and fits 3 epochs on random data shaped
like the model's input, timing each epoch, then saves the model (Keras traces its serving
functions again). `converted` takes `tf_keras` back off AutoGraph's do-not-convert list, which
is TensorFlow's own behaviour; `skipped` keeps it there, as `modules.autograph` does. Variants
alternate within each repeat, so both see the same machine load.

    python -m benchmarks.first_epoch [--models iris_softmax,mnist_mlp,cifar10_baseline] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.logs import configure_logging
from benchmarks.workers import run_worker
from modules.autograph import KERAS_PACKAGE, convert_again

logger = logging.getLogger("benchmarks.first_epoch")
VARIANTS = ("converted", "skipped")
EXAMPLES = 256


def worker(variant: str, spec_id: str) -> dict[str, float]:
    import tf_keras as keras

    from modules.fitting import compile_model
    from modules.registry import build_model, model_input_shape  # applies the rule
    from pipelines.spec.pipeline_spec import load_spec

    if variant == "converted":
        convert_again(KERAS_PACKAGE)
    spec = load_spec(spec_id)
    shape = model_input_shape(spec.model)
    rng = np.random.default_rng(0)
    x = rng.random((EXAMPLES, *shape), dtype=np.float32)
    classes = spec.transform.label.depth if spec.transform.label is not None else 3
    y = rng.integers(0, classes, EXAMPLES)
    if spec.transform.label is not None:
        y = np.eye(classes, dtype=np.float32)[y]
    started = time.perf_counter()
    model = build_model(spec.model.name, spec.model.hparams)
    compile_model(model, spec.training)
    built = time.perf_counter() - started

    epochs: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            epochs.append(time.perf_counter() - self.began)

    model.fit(x, y, batch_size=spec.training.batch_size, epochs=3, validation_data=(x[:64], y[:64]),
              verbose=0, callbacks=[EpochTimer()])
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        model.save(os.path.join(scratch, "model"), save_format="tf")
        saved = time.perf_counter() - started
    return {"build": built, "first_epoch": epochs[0], "later_epoch": statistics.median(epochs[1:]), "save": saved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="iris_softmax,mnist_mlp,cifar10_baseline")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    configure_logging()
    rows = []
    for spec_id in args.models.split(","):
        results: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
        for repeat in range(args.repeats):
            for variant in VARIANTS:
                results[variant].append(run_worker("benchmarks.first_epoch", variant, spec_id))
                logger.info("%s %s repeat %d: %s", spec_id, variant, repeat, results[variant][-1])
        medians = {variant: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                   for variant, runs in results.items()}
        for variant in VARIANTS:
            m = medians[variant]
            rows.append(f"| {spec_id} | {variant} | {m['first_epoch']:.2f} | {m['later_epoch']:.3f} | {m['save']:.1f} |")
        ratio = medians["skipped"]["first_epoch"] / medians["converted"]["first_epoch"]
        rows.append(f"| {spec_id} | skipped / converted, first epoch | {ratio:.3f} | | |")
    logger.info("%d examples, 3 epochs, medians of %d fresh processes per variant; %d CPU cores",
                EXAMPLES, args.repeats, os.cpu_count() or 0)
    logger.info("| model | tf_keras under AutoGraph | first epoch s | later epoch s | save s |")
    logger.info("|---|---|---:|---:|---:|")
    for row in rows:
        logger.info(row)


if __name__ == "__main__":
    main()
