"""The ExampleGen step: locating data (spans, files, defaults), tf.Example encoding, and real runs."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from components.example_gen import read_source_splits, to_example
from components.sources import SOURCES, DataFileError, MissingDataError, get_source, locate
from components.sources.images import MNIST
from components.splits import EVAL_SPLIT, TRAIN_SPLIT, ShuffleSplit
from pipelines.data.source_import import import_source
from tests.components.formats import write_fashion_mnist, write_mnist_npz

# Sources of pictures without labels (what a generative model learns from).
UNLABELLED = {"image_folder"}


def _options_for(source_id: str) -> dict:
    """The options a source needs to emit anything: a user's table declares its columns."""
    from tests.components.formats import TABLE_OPTIONS

    return TABLE_OPTIONS if source_id in ("csv", "tfrecord") else {}


def test_every_source_declares_features_a_split_and_how_to_get_its_files():
    for source in SOURCES.values():
        features = source.feature_set(_options_for(source.id))
        assert features.features and (features.labelled or source.id in UNLABELLED), source.id
        assert source.default_split.kind in {"given", "shuffle", "sklearn", "all"}
        assert source.generated or source.how_to_get, source.id


def test_locate_prefers_the_newest_span_folder(tmp_path):
    for span in (1, 2, 10):
        write_mnist_npz(tmp_path / f"span-{span}")
    location = locate(get_source("mnist"), str(tmp_path))
    assert location.input_base == str(tmp_path) and location.pattern == "span-{SPAN}/mnist.npz"


def test_locate_a_file_or_a_plain_folder(tmp_path):
    path = write_mnist_npz(tmp_path)
    assert locate(get_source("mnist"), str(path)).pattern == "mnist.npz"
    assert locate(get_source("mnist"), str(tmp_path)).pattern == "mnist.npz"
    with pytest.raises(MissingDataError, match=r"reads a directory holding 'fashion-mnist/\*-ubyte.gz'"):
        locate(get_source("fashion_mnist"), str(path))
    (tmp_path / "span-3").mkdir()
    with pytest.raises(MissingDataError, match=r"newest span folder .*span-3 holds no mnist data"):
        locate(get_source("mnist"), str(tmp_path))


def test_uint8_images_round_trip_through_tf_example():
    image = np.arange(784, dtype=np.uint8).reshape(28, 28)
    serialized = to_example({"image": image, "label": 7}, MNIST).SerializeToString()
    parsed = tf.io.parse_single_example(serialized, {
        "image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)})
    decoded = tf.reshape(tf.io.decode_raw(parsed["image"], tf.uint8), [28, 28]).numpy()
    np.testing.assert_array_equal(decoded, image)
    assert int(parsed["label"]) == 7
    with pytest.raises(DataFileError, match="expected 784 uint8 values, got 783"):
        to_example({"image": np.zeros(783, np.uint8), "label": 1}, MNIST)


def test_an_empty_split_is_an_error(tmp_path):
    write_mnist_npz(tmp_path, n_test=0, x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.uint8))
    with pytest.raises(DataFileError, match="the eval split is empty"):
        read_source_splits(get_source("mnist"), [str(tmp_path / "mnist.npz")], None, get_source("mnist").default_split)


def _read_split(uri, split):
    files = sorted((uri_path := os.path.join(uri, f"Split-{split}")) and os.listdir(uri_path))
    dataset = tf.data.TFRecordDataset([os.path.join(uri, f"Split-{split}", f) for f in files], compression_type="GZIP")
    spec = {"image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)}
    rows = [tf.io.parse_single_example(r, spec) for r in dataset]
    images = np.stack([tf.io.decode_raw(r["image"], tf.uint8).numpy().reshape(28, 28) for r in rows])
    return images, np.array([int(r["label"]) for r in rows])


def test_import_runs_the_example_gen_span_by_span(tmp_path):
    """A real ExampleGen run: the newest span is read, examples round-trip, a new span re-imports."""
    write_fashion_mnist(tmp_path / "drops" / "span-1", n_train=6, n_test=3)
    output = tmp_path / "out"
    first = import_source("fashion_mnist", str(output), path=str(tmp_path / "drops"))
    assert first.span == 1 and first.split_counts == {TRAIN_SPLIT: 6, EVAL_SPLIT: 3}
    assert [(f.name, f.stored_as, f.shape) for f in first.features] == [
        ("image", "bytes (raw uint8)", "28x28"), ("label", "int64", "scalar")]

    arrays = write_fashion_mnist(tmp_path / "drops" / "span-2", n_train=8, n_test=2)
    second = import_source("fashion_mnist", str(output), path=str(tmp_path / "drops"))
    assert second.span == 2 and second.uri != first.uri
    images, labels = _read_split(second.uri, TRAIN_SPLIT)
    np.testing.assert_array_equal(images, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(labels, arrays["train-labels-idx1-ubyte.gz"])


def test_a_bad_file_fails_the_import_and_publishes_nothing(tmp_path):
    write_fashion_mnist(tmp_path / "data")
    labels = tmp_path / "data" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-8])
    with pytest.raises(DataFileError, match="t10k-labels-idx1-ubyte.gz: truncated or corrupt gzip"):
        import_source("fashion_mnist", str(tmp_path / "out"), path=str(tmp_path / "data"))
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "out" / "metadata.sqlite")
    published = [a for a in mlmd.MetadataStore(config).get_artifacts_by_type("Examples")
                 if a.state == metadata_store_pb2.Artifact.LIVE]
    assert published == []


def test_generated_source_imports_without_files(tmp_path):
    imported = import_source("letters", str(tmp_path / "out"), options={"window": 4},
                             split=ShuffleSplit(eval_fraction=0.4, seed=1))
    assert imported.split_counts == {TRAIN_SPLIT: 3, EVAL_SPLIT: 2}
    assert [(f.name, f.values_per_example) for f in imported.features] == [("letters", "4"), ("next_letter", "1")]


def _fixture_for(source_id, tmp_path):
    """A small file in the source's real format (None: the source reads shipped data or generates)."""
    from tests.components import formats

    writers = {
        "mnist": lambda: formats.write_mnist_npz(tmp_path),
        "fashion_mnist": lambda: formats.write_fashion_mnist(tmp_path),
        "cifar10": lambda: formats.write_cifar10(tmp_path, as_archive=True),
        "cifar100": lambda: formats.write_cifar100(tmp_path),
        "imdb": lambda: formats.write_imdb_npz(tmp_path),
        "images_dir": lambda: formats.write_images_dir(tmp_path, mode="L"),
        "image_folder": lambda: formats.write_face_folder(tmp_path, 12),
        "prices_csv": lambda: formats.write_prices_csv(tmp_path, n_days=500),
        "csv": lambda: formats.write_table_csv(tmp_path),
        "tfrecord": lambda: formats.write_table_tfrecords(tmp_path),
    }
    if source_id not in writers:
        return None
    writers[source_id]()
    return str(tmp_path)


@pytest.mark.parametrize("source_id", sorted(SOURCES))
def test_every_source_round_trips_through_its_examples(source_id, tmp_path):
    """What the ExampleGen serializes parses back, by the source's declared storage, to the records."""
    from components.splits import apply_split
    from tests.components.formats import located_files, parsing_spec, read_records

    source = get_source(source_id)
    path = _fixture_for(source_id, tmp_path)
    files = located_files(source_id, path)
    options = _options_for(source_id)
    serialized = read_source_splits(source, files, source.parse_options(options), source.default_split)
    expected = apply_split(source.default_split, read_records(source_id, path, **options))
    features = source.feature_set(options)
    spec = parsing_spec(features)
    for split, rows in expected.items():
        assert len(serialized[split]) == len(rows) > 0
        parsed = tf.io.parse_example(tf.constant(serialized[split][:50]), spec)
        for name in features.all_keys:
            feature = features.feature(name)
            values = parsed[name]
            for i, row in enumerate(rows[:50]):
                if feature.kind == "uint8":
                    got = tf.io.decode_raw(values[i], tf.uint8).numpy().reshape(feature.shape)
                    np.testing.assert_array_equal(got, row[name])
                elif feature.kind == "text":
                    assert values[i].numpy().decode() == row[name]
                elif isinstance(values, tf.SparseTensor):
                    got = tf.sparse.to_dense(tf.sparse.slice(values, [i, 0], [1, values.dense_shape[1]])).numpy().ravel()
                    np.testing.assert_allclose(got[: len(row[name])], np.ravel(row[name]), rtol=1e-6)
                else:
                    np.testing.assert_allclose(np.ravel(values[i].numpy()), np.ravel(row[name]), rtol=1e-6)
