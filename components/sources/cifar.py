"""CIFAR-10 and CIFAR-100: the Python-pickle batches, as a `.tar.gz` or extracted, read safely.

Each batch is a pickled dict: `data` (n x 3072 uint8, channels first) and `labels` (CIFAR-10) or
`fine_labels` (CIFAR-100). The pickles go through `restricted_load`, the archive through
`tar_members`: a crafted file can neither run code nor write outside its folder.
"""
from __future__ import annotations

import io
import os
from typing import IO, Any, Sequence

import numpy as np

from components.sources.base import DataFileError, DataSource, SourceRecords, check_labels, keras_cache_dir
from components.sources.images import image_records
from components.sources.safe_files import UnsafeFileError, restricted_load, tar_members
from components.splits import EVAL_SPLIT, TRAIN_SPLIT, GivenSplit
from modules.features import FeatureSet, image_set

CIFAR10 = image_set(32, 32, 3, 10)
CIFAR100 = image_set(32, 32, 3, 100)

CIFAR10_BATCHES = {
    TRAIN_SPLIT: tuple(f"data_batch_{i}" for i in range(1, 6)),
    EVAL_SPLIT: ("test_batch",),
}
CIFAR100_BATCHES = {TRAIN_SPLIT: ("train",), EVAL_SPLIT: ("test",)}


def _load_batch(name: str, handle: IO[bytes], label_key: bytes, features: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = restricted_load(handle)
    except UnsafeFileError as error:
        raise DataFileError(f"{name}: {error}") from None
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataFileError(f"{name}: expected a dict with b'data' and {label_key!r}, got {keys}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataFileError(f"{name}: field 'data' expected (n, 3072) uint8, got {data.shape} {data.dtype}")
    if len(data) != len(labels):
        raise DataFileError(f"{name}: {len(data)} images but {len(labels)} labels; expected one label per image")
    check_labels(name, labels, features.num_classes or 0, label_key.decode())
    # Channels first on disk (as Keras' loader reads it), channels last for the models.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _batch_files(files: Sequence[str]) -> dict[str, tuple[str, IO[bytes]]]:
    """Batch name -> (display name, readable file), from an archive or from extracted files."""
    if len(files) == 1 and files[0].endswith((".tar.gz", ".tgz", ".tar")):
        archive = files[0]
        try:
            return {
                os.path.basename(member): (f"{archive}:{member}", handle)
                for member, handle in tar_members(archive)
            }
        except UnsafeFileError as error:
            raise DataFileError(f"{archive}: {error}") from None
    batches: dict[str, tuple[str, Any]] = {}
    for path in files:
        if os.path.isfile(path):
            batches[os.path.basename(path)] = (path, None)
    return batches


def read_cifar(
    files: Sequence[str], batches: dict[str, tuple[str, ...]], label_key: bytes, features: FeatureSet
) -> SourceRecords:
    available = _batch_files(files)
    records = {}
    for split, names in batches.items():
        images, labels = [], []
        for name in names:
            if name not in available:
                where = files[0] if len(files) == 1 else os.path.dirname(files[0]) if files else "the data directory"
                expected = ", ".join(batch for split_batches in batches.values() for batch in split_batches)
                raise DataFileError(f"{where}: batch {name!r} missing; expected {expected}")
            display, handle = available[name]
            if handle is None:
                with open(display, "rb") as opened:
                    handle = io.BytesIO(opened.read())
            batch_images, batch_labels = _load_batch(display, handle, label_key, features)
            images.append(batch_images)
            labels.append(batch_labels)
        records[split] = image_records(
            f"{split} batches", np.concatenate(images), np.concatenate(labels), features
        )
    return records


CIFAR10_SOURCE = DataSource(
    id="cifar10",
    description="60,000 32x32 colour images, 10 classes, 50k train / 10k test",
    features=lambda _: CIFAR10,
    read=lambda files, _: read_cifar(files, CIFAR10_BATCHES, b"labels", CIFAR10),
    default_split=GivenSplit(),
    layouts=("cifar-10-batches-py/*_batch*", "cifar-10-batches-py.tar.gz", "cifar-10-python.tar.gz"),
    default_dirs=lambda: [keras_cache_dir()],
    how_to_get="keras.datasets.cifar10.load_data() caches ~/.keras/datasets/cifar-10-batches-py "
    "(the archive cifar-10-python.tar.gz works too).",
)

CIFAR100_SOURCE = DataSource(
    id="cifar100",
    description="60,000 32x32 colour images, 100 fine classes, 50k train / 10k test",
    features=lambda _: CIFAR100,
    read=lambda files, _: read_cifar(files, CIFAR100_BATCHES, b"fine_labels", CIFAR100),
    default_split=GivenSplit(),
    layouts=("cifar-100-python/t*", "cifar-100-python.tar.gz"),
    default_dirs=lambda: [keras_cache_dir()],
    how_to_get="keras.datasets.cifar100.load_data() caches ~/.keras/datasets/cifar-100-python "
    "(the archive cifar-100-python.tar.gz works too).",
)
