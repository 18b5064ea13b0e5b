"""How a feature is stored in a `tf.Example` and described to Transform: `Feature`, `FeatureSet`.

Each data source declares its own `FeatureSet` (`components/sources/`); the ExampleGen writes
each feature as the `Feature.kind` says and Transform decodes it by the same description, so
neither guesses. Images are stored as one `bytes` value of raw uint8 pixels
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
    """The raw features and the label that one data source emits, with their storage.

    An empty `label` marks unlabelled data (a folder of pictures a generative model learns from).
    """

    features: tuple[str, ...]
    label: str
    num_classes: int | None = None
    kinds: Mapping[str, Feature] = field(default_factory=dict)
    # A label read as class names: the names in id order, which serving answers with.
    class_names: tuple[str, ...] = ()
    # Features some examples lack (a CSV column with `missing: keep`): their transform must fill them.
    optional: frozenset[str] = frozenset()

    @property
    def labelled(self) -> bool:
        return bool(self.label)

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (*self.features, self.label) if self.labelled else self.features

    def feature(self, name: str) -> Feature:
        """Storage of `name`: what `kinds` says; features default to a float, the label to a class index."""
        if name in self.kinds:
            return self.kinds[name]
        return CLASS_INDEX if name == self.label else SCALAR_FLOAT


def image_feature(height: int, width: int, channels: int) -> Feature:
    """Raw uint8 pixels of one picture: (height, width) grey, (height, width, channels) colour."""
    return Feature("uint8", (height, width) if channels == 1 else (height, width, channels))


def image_set(height: int, width: int, channels: int, num_classes: int) -> FeatureSet:
    """An image source: one `image` feature of raw uint8 pixels and an integer `label`."""
    return FeatureSet(
        features=("image",), label="label", num_classes=num_classes,
        kinds={"image": image_feature(height, width, channels)},
    )


def unlabelled_image_set(height: int, width: int, channels: int) -> FeatureSet:
    """Pictures without a label: one `image` feature of raw uint8 pixels."""
    return FeatureSet(features=("image",), label="", kinds={"image": image_feature(height, width, channels)})
