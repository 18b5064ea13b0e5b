"""CIFAR batches as extracted folders and as archives; crafted pickles and archives are refused unexecuted."""
from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
import pytest

from components.sources import DataFileError
from components.splits import EVAL_SPLIT, TRAIN_SPLIT
from tests.components.formats import (
    MarkerPayload,
    add_tar_member,
    cifar_batch,
    read_records,
    write_cifar10,
    write_cifar100,
)


def _expected_images(batches, names):
    data = np.concatenate([batches[n][b"data"] for n in names])
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


@pytest.mark.parametrize("as_archive", [False, True], ids=["extracted", "tar.gz"])
def test_cifar10_round_trip_channels_last(tmp_path, as_archive):
    batches = write_cifar10(tmp_path, as_archive=as_archive)
    records = read_records("cifar10", tmp_path)
    train_names = [f"data_batch_{i}" for i in range(1, 6)]
    x = np.stack([r["image"] for r in records[TRAIN_SPLIT]])
    np.testing.assert_array_equal(x, _expected_images(batches, train_names))
    assert [r["label"] for r in records[TRAIN_SPLIT]] == sum((batches[n][b"labels"] for n in train_names), [])
    assert len(records[EVAL_SPLIT]) == 3 and x.shape[1:] == (32, 32, 3)
    # Pixel (row 0, col 1) of image 0 is byte 1 (red), 1025 (green), 2049 (blue) of its row.
    row = batches["data_batch_1"][b"data"][0]
    np.testing.assert_array_equal(x[0, 0, 1], [row[1], row[1025], row[2049]])


@pytest.mark.parametrize("as_archive", [False, True], ids=["extracted", "tar.gz"])
def test_cifar100_reads_fine_labels(tmp_path, as_archive):
    batches = write_cifar100(tmp_path, as_archive=as_archive)
    records = read_records("cifar100", tmp_path)
    assert [r["label"] for r in records[TRAIN_SPLIT]] == batches["train"][b"fine_labels"]
    assert len(records[EVAL_SPLIT]) == 3


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    write_cifar10(tmp_path)
    batch = cifar_batch(2, b"labels", 10, seed=1)
    batch[b"labels"] = MarkerPayload(str(marker))
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataFileError, match=r"data_batch_3: the pickle asks for (posix|os)\.system.*refused"):
        read_records("cifar10", tmp_path)
    assert not marker.exists()
    # The payload is real: plain pickle.loads would have created the marker.
    pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_3").read_bytes())
    assert marker.exists()


def test_wrong_label_count_and_range(tmp_path):
    write_cifar10(tmp_path)
    batch = cifar_batch(2, b"labels", 10, seed=1)
    batch[b"labels"] = [3]
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataFileError, match=r"test_batch: 2 images but 1 labels"):
        read_records("cifar10", tmp_path)
    batch[b"labels"] = [3, 10]
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataFileError, match=r"test_batch: record 1: field 'labels' expected a class index 0..9, got 10"):
        read_records("cifar10", tmp_path)


def test_missing_batch(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataFileError, match=r"batch 'data_batch_4' missing"):
        read_records("cifar10", tmp_path)


@pytest.mark.parametrize(
    "member, reason",
    [("../escape.txt", "climbs out of the archive"), ("/etc/evil", "has an absolute path"),
     ("cifar-10-batches-py/../../escape", "climbs out of the archive")],
)
def test_archive_members_outside_the_folder_are_refused(tmp_path, member, reason):
    write_cifar10(tmp_path, as_archive=True)
    archive_path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive_path, "r:gz") as archive:
        members = [(m.name, archive.extractfile(m).read()) for m in archive.getmembers()]
    with tarfile.open(archive_path, "w:gz") as archive:
        for name, data in members:
            add_tar_member(archive, name, data)
        add_tar_member(archive, member, b"x")
    with pytest.raises(DataFileError, match=rf"cifar-10-python.tar.gz: archive member .* {reason}"):
        read_records("cifar10", tmp_path)
    assert not (tmp_path.parent / "escape.txt").exists() and not list(tmp_path.glob("cifar-10-batches-py"))


def test_archive_with_a_link_and_a_truncated_archive(tmp_path):
    write_cifar10(tmp_path, as_archive=True)
    archive_path = tmp_path / "cifar-10-python.tar.gz"
    data = archive_path.read_bytes()
    archive_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match=r"cifar-10-python.tar.gz: .*(truncated|corrupt|not a readable)"):
        read_records("cifar10", tmp_path)
    with tarfile.open(archive_path, "w:gz") as archive:
        link = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link, io.BytesIO(b""))
    with pytest.raises(DataFileError, match=r"archive member 'cifar-10-batches-py/data_batch_1' is a link"):
        read_records("cifar10", tmp_path)
