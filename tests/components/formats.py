"""Writers of small files in the real formats of each course data source, for the tests.

Each writes what the real distribution holds (Keras' npz keys, LeCun's IDX, CIFAR's pickled
dicts of channels-first uint8 rows, ...) so the readers are tested against the format, not a mock.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from modules.features import FeatureSet


def images(n: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, size=(n, *shape)).astype(np.uint8)


def labels(n: int, num_classes: int, seed: int = 1) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, num_classes, size=n).astype(np.uint8)


def write_mnist_npz(directory: Path, n_train: int = 12, n_test: int = 5, **overrides: np.ndarray) -> Path:
    arrays = {
        "x_train": images(n_train, (28, 28)), "y_train": labels(n_train, 10),
        "x_test": images(n_test, (28, 28), seed=2), "y_test": labels(n_test, 10, seed=3),
    }
    arrays.update(overrides)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mnist.npz"
    np.savez(path, **arrays)
    return path


def idx_bytes(array: np.ndarray, magic_dims: int | None = None) -> bytes:
    dims = array.ndim if magic_dims is None else magic_dims
    header = struct.pack(">HBB", 0, 0x08, dims) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fashion_mnist(directory: Path, n_train: int = 10, n_test: int = 4) -> dict[str, np.ndarray]:
    """The four `.gz` IDX files in `directory/fashion-mnist/`, as Keras caches them."""
    folder = directory / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": images(n_train, (28, 28)),
        "train-labels-idx1-ubyte.gz": labels(n_train, 10),
        "t10k-images-idx3-ubyte.gz": images(n_test, (28, 28), seed=5),
        "t10k-labels-idx1-ubyte.gz": labels(n_test, 10, seed=6),
    }
    for name, array in arrays.items():
        (folder / name).write_bytes(gzip.compress(idx_bytes(array)))
    return arrays


def cifar_batch(n: int, label_key: bytes, num_classes: int, seed: int) -> dict[bytes, object]:
    """A batch dict as CIFAR's pickles hold it: channels-first rows of 3072 bytes, list labels."""
    return {
        b"batch_label": b"testing batch",
        label_key: labels(n, num_classes, seed).astype(int).tolist(),
        b"data": images(n, (3 * 32 * 32,), seed),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }


def write_cifar10(directory: Path, as_archive: bool = False, per_batch: int = 2) -> dict[str, dict]:
    batches = {f"data_batch_{i}": cifar_batch(per_batch, b"labels", 10, seed=i) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(per_batch + 1, b"labels", 10, seed=9)
    _write_batches(directory, "cifar-10-batches-py", batches, as_archive, "cifar-10-python.tar.gz")
    return batches


def write_cifar100(directory: Path, as_archive: bool = False) -> dict[str, dict]:
    batches = {"train": cifar_batch(4, b"fine_labels", 100, 1), "test": cifar_batch(3, b"fine_labels", 100, 2)}
    _write_batches(directory, "cifar-100-python", batches, as_archive, "cifar-100-python.tar.gz")
    return batches


def _write_batches(directory: Path, folder: str, batches: dict[str, dict], as_archive: bool, archive_name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    blobs = {name: pickle.dumps(batch, protocol=2) for name, batch in batches.items()}
    if as_archive:
        with tarfile.open(directory / archive_name, "w:gz") as archive:
            for name, blob in blobs.items():
                add_tar_member(archive, f"{folder}/{name}", blob)
    else:
        (directory / folder).mkdir(exist_ok=True)
        for name, blob in blobs.items():
            (directory / folder / name).write_bytes(blob)


def add_tar_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


class MarkerPayload:
    """Unpickling this would create `path`: what a crafted data file would try."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def write_imdb_npz(directory: Path) -> tuple[list[list[int]], list[int], list[list[int]], list[int]]:
    """Object arrays of word-id lists, as Keras' imdb.npz stores them (np.savez pickles them)."""
    x_train = [[5, 6, 7], [8, 9], [10, 11, 12, 13], [14]]
    y_train = [0, 1, 1, 0]
    x_test = [[20, 21], [22, 23, 24]]
    y_test = [1, 0]
    directory.mkdir(parents=True, exist_ok=True)
    def as_objects(rows: list[list[int]]) -> np.ndarray:
        """A 1-d object array of lists, as Keras' imdb.npz holds (the None keeps numpy from stacking)."""
        return np.array([list(r) for r in rows] + [None], dtype=object)[:-1]

    np.savez(directory / "imdb.npz", x_train=as_objects(x_train), y_train=np.array(y_train),
             x_test=as_objects(x_test), y_test=np.array(y_test))
    return x_train, y_train, x_test, y_test


def write_images_dir(
    directory: Path, n_train: int = 4, n_test: int = 2, fmt: str = "PNG", size=(28, 28), mode="L"
) -> dict[str, list]:
    """The course's layout: train.txt / test.txt of 'filename label' lines, images in train/ and test/."""
    from PIL import Image

    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        folder = directory / split
        folder.mkdir(parents=True, exist_ok=True)
        lines, rows = [], []
        for i in range(n):
            pixels = images(1, (*size[::-1], 3) if mode == "RGB" else size[::-1], seed=i + (100 if split == "test" else 0))[0]
            name = f"{i}_{split}.{fmt.lower()}"
            Image.fromarray(pixels, mode).save(folder / name, fmt)
            label = i % 10
            lines.append(f"{name} {label}")
            rows.append((pixels, label))
        (directory / f"{split}.txt").write_text("\n".join(lines) + "\n")
        written[split] = rows
    return written


def write_prices_csv(directory: Path, n_days: int, name: str = "SH600519.csv") -> tuple[Path, np.ndarray]:
    """The course's stock CSV layout: an index column, date, open, close, ... ."""
    prices = 100 + np.cumsum(np.random.RandomState(3).randn(n_days)).round(2)
    dates = np.datetime64("2010-04-26") + np.arange(n_days)
    lines = [",date,open,close,high,low,volume,code"]
    for i, (date, price) in enumerate(zip(dates, prices, strict=True)):
        lines.append(f"{i},{date},{price},{price + 1},{price + 2},{price - 1},1000,600519")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("\n".join(lines) + "\n")
    return path, prices


def located_files(source_id: str, path: Path | str | None = None) -> list[str]:
    """The files a run reads for `source_id` at `path` (no spans; none for generated sources)."""
    from components.sources import get_source, locate

    return locate(get_source(source_id), None if path is None else str(path)).local_files()


def read_records(source_id: str, path: Path | str | None = None, **options) -> dict[str, list[dict]]:
    """What a source reads from `path` (located as a run locates it), before any split."""
    from components.sources import get_source

    source = get_source(source_id)
    return source.read(located_files(source_id, path), source.parse_options(options))


def parsing_spec(features: FeatureSet) -> dict:
    """`tf.io.parse_example` spec of a source's raw Examples, from its declared storage."""
    import tensorflow as tf

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


# A user's table for the csv and tfrecord sources: every column kind, a list column, a string label.
TABLE_OPTIONS = {
    "columns": [{"name": "width"}, {"name": "count", "kind": "int"}, {"name": "colour", "kind": "string"},
                {"name": "pixels", "shape": [2, 2]}, {"name": "species", "kind": "string"}],
    "label": "species", "classes": ["cat", "dog"],
    "min_examples": {"per_split": 0, "per_class": 0},  # ten rows: a round trip, not a model to trust
}
TABLE_ROWS = [(1.5 + i, i, ["brown", "white, with spots"][i % 2], [float(i)] * 4, ["cat", "dog"][i % 2])
              for i in range(10)]


def write_table_csv(directory: Path) -> Path:
    """TABLE_ROWS as a CSV with a header (a quoted cell holds the delimiter)."""
    import csv

    path = Path(directory) / "pets.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([column["name"] for column in TABLE_OPTIONS["columns"]])
        for width, count, colour, pixels, species in TABLE_ROWS:
            writer.writerow([width, count, colour, " ".join(map(str, pixels)), species])
    return path


def write_table_tfrecords(directory: Path) -> Path:
    """TABLE_ROWS as gzipped TFRecords of tf.Example."""
    import tensorflow as tf

    path = Path(directory) / "pets.tfrecord.gz"
    with tf.io.TFRecordWriter(str(path), options=tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        for width, count, colour, pixels, species in TABLE_ROWS:
            example = tf.train.Example()
            example.features.feature["width"].float_list.value.append(width)
            example.features.feature["count"].int64_list.value.append(count)
            example.features.feature["colour"].bytes_list.value.append(colour.encode())
            example.features.feature["pixels"].float_list.value.extend(pixels)
            example.features.feature["species"].bytes_list.value.append(species.encode())
            writer.write(example.SerializeToString())
    return path


def write_face_folder(directory: Path, count: int, size: int = 96, seed: int = 0) -> list[Path]:
    """A folder of `count` cartoon faces (a skin-toned disc with two eyes and a mouth on a plain
    background, each placed and coloured at random), PNG and JPEG like a downloaded picture set,
    `size` x `size` as the course's 96x96 anime faces; plus a note file that is not a picture."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        background = tuple(int(v) for v in rng.integers(0, 256, 3))
        image = Image.new("RGB", (size, size), background)
        draw = ImageDraw.Draw(image)
        cx, cy, radius = (int(v) for v in (size / 2 + rng.integers(-8, 9), size / 2 + rng.integers(-8, 9),
                                           size * rng.uniform(0.28, 0.4)))
        skin = (int(rng.integers(200, 256)), int(rng.integers(150, 210)), int(rng.integers(110, 170)))
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=skin)
        for side in (-1, 1):
            ex, ey = cx + side * radius // 3, cy - radius // 4
            draw.ellipse((ex - 4, ey - 4, ex + 4, ey + 4), fill=(20, 20, 60))
        draw.arc((cx - radius // 2, cy, cx + radius // 2, cy + radius // 2), 20, 160, fill=(150, 30, 30), width=3)
        path = directory / (f"face_{index:04d}.png" if index % 2 else f"face_{index:04d}.jpg")
        image.save(path)
        written.append(path)
    (directory / "README.txt").write_text("cartoon faces written by the tests\n")
    return written
