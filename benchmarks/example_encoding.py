"""How to store images in tf.Examples: raw uint8 bytes vs int64 lists vs float lists.

Measures, side by side on the same synthetic MNIST-like images: building and serializing the
Examples (what ExampleGen pays), the serialized and gzipped size (what is written), and parsing
plus decoding to float32 [0, 1] with tf.data (what Transform and the Trainer pay).

    python -m benchmarks.example_encoding [--examples 20000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import gzip
import logging
import os
import statistics
import time
from typing import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf

from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.example_encoding")


def _example(image_feature: tf.train.Feature, label: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        "image": image_feature,
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
    })).SerializeToString()


ENCODERS: dict[str, tuple[Callable[[np.ndarray], tf.train.Feature], dict]] = {
    "uint8 bytes": (
        lambda img: tf.train.Feature(bytes_list=tf.train.BytesList(value=[img.tobytes()])),
        {"image": tf.io.FixedLenFeature([], tf.string)},
    ),
    "int64 list": (
        lambda img: tf.train.Feature(int64_list=tf.train.Int64List(value=img.reshape(-1).tolist())),
        {"image": tf.io.FixedLenFeature([784], tf.int64)},
    ),
    "float list": (
        lambda img: tf.train.Feature(float_list=tf.train.FloatList(value=(img.reshape(-1) / 255.0).tolist())),
        {"image": tf.io.FixedLenFeature([784], tf.float32)},
    ),
}


def synthetic_mnist(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-like images: about 80 % zero pixels, the rest uniform 1..255."""
    rng = np.random.RandomState(seed)
    images = (rng.randint(1, 256, size=(n, 28, 28)) * (rng.rand(n, 28, 28) < 0.2)).astype(np.uint8)
    return images, rng.randint(0, 10, size=n)


def measure(name: str, images: np.ndarray, labels: np.ndarray, repeats: int) -> dict[str, float]:
    encode, spec = ENCODERS[name]
    spec = {**spec, "label": tf.io.FixedLenFeature([], tf.int64)}
    write_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        serialized = [_example(encode(img), int(y)) for img, y in zip(images, labels, strict=True)]
        write_times.append(time.perf_counter() - started)
    n = len(images)
    sample = b"".join(serialized[:5000])
    gz_per_example = len(gzip.compress(sample, 6)) / min(n, 5000)

    def parse(batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        parsed = tf.io.parse_example(batch, spec)
        image = parsed["image"]
        if image.dtype == tf.string:
            image = tf.io.decode_raw(image, tf.uint8)
        return tf.cast(image, tf.float32) / 255.0, parsed["label"]

    dataset = tf.data.Dataset.from_tensor_slices(serialized).batch(128).map(parse)
    for _ in dataset:  # warm-up: trace once
        pass
    parse_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in dataset:
            pass
        parse_times.append(time.perf_counter() - started)
    return {
        "write_per_s": n / statistics.median(write_times),
        "bytes": sum(map(len, serialized)) / n,
        "gzip_bytes": gz_per_example,
        "parse_per_s": n / statistics.median(parse_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure_logging()
    images, labels = synthetic_mnist(args.examples)
    results = {name: measure(name, images, labels, args.repeats) for name in ENCODERS}
    base = results["uint8 bytes"]
    logger.info("%d examples, median of %d; ratios relative to uint8 bytes", args.examples, args.repeats)
    logger.info("| encoding | write ex/s | bytes/ex | gzip bytes/ex | parse+decode ex/s | write ratio | parse ratio |")
    logger.info("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        logger.info("| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |", name, r["write_per_s"], r["bytes"],
                    r["gzip_bytes"], r["parse_per_s"], r["write_per_s"] / base["write_per_s"],
                    r["parse_per_s"] / base["parse_per_s"])


if __name__ == "__main__":
    main()
