"""Importing a synthetic MNIST-sized data set (70,000 x 28x28) through the course ExampleGen.

Writes a Keras-format `mnist.npz` of synthetic images to a temporary folder, then measures:
  read      the source reader alone (npz load, checks, records)
  serialize read + split + tf.Example serialization (`read_source_splits`)
  ExampleGen the whole step as a pipeline runs it (LocalDagRunner, Beam, gzipped TFRecords),
             first run (executed) and an unchanged re-run (cached)
Goal (issue 3): >= 20,000 examples/s on a 2-core machine.

    python -m benchmarks.import_throughput [--examples 70000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.example_encoding import synthetic_mnist
from benchmarks.logs import configure_logging
from components.example_gen import read_source_splits
from components.sources import get_source
from pipelines.data.source_import import run_example_gen

logger = logging.getLogger("benchmarks.import_throughput")


def write_mnist(directory: str, n: int) -> str:
    n_test = n // 7
    images, labels = synthetic_mnist(n)
    path = os.path.join(directory, "mnist.npz")
    np.savez(path, x_train=images[n_test:], y_train=labels[n_test:].astype(np.uint8),
             x_test=images[:n_test], y_test=labels[:n_test].astype(np.uint8))
    return path


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=70000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure_logging()
    source = get_source("mnist")
    with tempfile.TemporaryDirectory() as temp_dir:
        data_dir = os.path.join(temp_dir, "data")
        os.makedirs(data_dir)
        path = write_mnist(data_dir, args.examples)
        rows = {
            "read": timed(lambda: source.read([path], None), args.repeats),
            "serialize": timed(lambda: read_source_splits(source, [path], None, source.default_split), args.repeats),
        }
        cold = []
        for attempt in range(args.repeats):
            output = os.path.join(temp_dir, f"out-{attempt}")
            started = time.perf_counter()
            run_example_gen("mnist", output, path=data_dir)
            cold.append(time.perf_counter() - started)
        rows["ExampleGen, executed"] = statistics.median(cold)
        rows["ExampleGen, cached re-run"] = timed(
            lambda: run_example_gen("mnist", os.path.join(temp_dir, "out-0"), path=data_dir), args.repeats)
    logger.info("%d examples (synthetic, Keras mnist.npz format), median of %d, %d CPU cores",
                args.examples, args.repeats, os.cpu_count() or 0)
    logger.info("| phase | seconds | examples/s |")
    logger.info("|---|---:|---:|")
    for name, seconds in rows.items():
        logger.info("| %s | %.2f | %.0f |", name, seconds, args.examples / seconds)


if __name__ == "__main__":
    main()
