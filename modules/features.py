"""Feature names, types and shapes of every data source, in one place, so no module retypes them.

The ExampleGen writes each feature as the `Feature.kind` says and Transform decodes it by the same
description, so neither guesses. Images are stored as one `bytes` value of raw uint8 pixels
(`kind="uint8"`): measured against int64 and float lists it is built and serialized about 7x
faster, parses at a similar rate, and is the smallest gzipped (benchmarks/example_encoding.py;
numbers in the README).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Mapping

TRANSFORMED_SUFFIX = "_xf"

# float: float32 list; int: int64 list; text: one bytes value (UTF-8);
# uint8: one bytes value holding prod(shape) raw pixels, decoded with tf.io.decode_raw.
FeatureKind = Literal["float", "int", "text", "uint8"]


def transformed_name(key: str) -> str:
    """Name of a feature after Transform; the label keeps its raw name."""
    return key + TRANSFORMED_SUFFIX


@dataclass(frozen=True)
class Feature:
    """How one feature is stored in a `tf.Example`.

    `shape` is the logical shape of one example's value: `()` a scalar, `(28, 28)` an image,
    `(None,)` a sequence of varying length.
    """

    kind: FeatureKind = "float"
    shape: tuple[int | None, ...] = ()

    @property
    def fixed_size(self) -> int | None:
        """Number of stored values (pixels for uint8), or None for a varying length."""
        return None if None in self.shape else math.prod(self.shape)


SCALAR_FLOAT = Feature("float")
CLASS_INDEX = Feature("int")


@dataclass(frozen=True)
class FeatureSet:
    """The raw features and the label that one data source emits, with their storage."""

    features: tuple[str, ...]
    label: str
    num_classes: int | None = None
    kinds: Mapping[str, Feature] = field(default_factory=dict)

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (*self.features, self.label)

    def feature(self, name: str) -> Feature:
        """Storage of `name`: what `kinds` says; features default to a float, the label to a class index."""
        if name in self.kinds:
            return self.kinds[name]
        return CLASS_INDEX if name == self.label else SCALAR_FLOAT


def image_set(height: int, width: int, channels: int, num_classes: int) -> FeatureSet:
    """An image source: one `image` feature of raw uint8 pixels and an integer `label`."""
    shape = (height, width) if channels == 1 else (height, width, channels)
    return FeatureSet(
        features=("image",), label="label", num_classes=num_classes,
        kinds={"image": Feature("uint8", shape)},
    )


IRIS = FeatureSet(
    features=("sepal_length", "sepal_width", "petal_length", "petal_width"),
    label="species",
    num_classes=3,
)
DIGITS = FeatureSet(
    features=("pixels",), label="digit", num_classes=10, kinds={"pixels": Feature("float", (8, 8))}
)
BOSTON_HOUSING = FeatureSet(
    features=(
        "crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b",
        "lstat",
    ),
    label="medv",
    kinds={"medv": SCALAR_FLOAT},
)
MNIST = image_set(28, 28, 1, 10)
CIFAR10 = image_set(32, 32, 3, 10)
CIFAR100 = image_set(32, 32, 3, 100)
IMDB_IDS = FeatureSet(
    features=("word_ids",), label="label", num_classes=2, kinds={"word_ids": Feature("int", (None,))}
)
IMDB_TEXT = FeatureSet(
    features=("text",), label="label", num_classes=2, kinds={"text": Feature("text")}
)
DOT = FeatureSet(features=("x1", "x2"), label="y_c", num_classes=2)
YOGURT = FeatureSet(features=("x1", "x2"), label="y", kinds={"y": SCALAR_FLOAT})
LETTERS_LABEL = "next_letter"


def letters_set(window: int, alphabet_size: int) -> FeatureSet:
    """`window` letter ids in, the id of the letter after them out."""
    return FeatureSet(
        features=("letters",), label=LETTERS_LABEL, num_classes=alphabet_size,
        kinds={"letters": Feature("int", (window,))},
    )


def prices_set(window: int) -> FeatureSet:
    """`window` days of prices in, the next day's price out (both in price units)."""
    return FeatureSet(
        features=("prices",), label="next_price",
        kinds={"prices": Feature("float", (window,)), "next_price": SCALAR_FLOAT},
    )


def parsing_spec(features: FeatureSet) -> dict:
    """`tf.io.parse_example` spec of a source's raw Examples, from its declared storage."""
    import tensorflow as tf  # noqa: PLC0415  (the ExampleGen side needs no TF for the names)

    spec = {}
    for name in features.all_keys:
        feature = features.feature(name)
        if feature.kind in ("uint8", "text"):
            spec[name] = tf.io.FixedLenFeature([], tf.string)
        elif feature.fixed_size is None:
            spec[name] = tf.io.VarLenFeature(tf.int64 if feature.kind == "int" else tf.float32)
        else:
            dtype = tf.int64 if feature.kind == "int" else tf.float32
            spec[name] = tf.io.FixedLenFeature([feature.fixed_size] if feature.shape else [], dtype)
    return spec
