"""Each training style end to end on tiny data in tmp_path: Transform, Trainer, Evaluator, Pusher,
and the pushed model reloaded through `serving_default` with raw tf.Examples.

- iris_tape: the course's GradientTape loop on one-hot targets;
- mnist_custom_dense: subclassed layers and model, logits on one-hot targets, images as raw bytes;
- mnist_augmented: Keras augmentation layers inside the model, active in training only;
- yogurt_profit: the custom COST/PROFIT loss, a regression gated on an MSE upper bound;
- mnist_vae: unsupervised, gated on the reconstruction loss it serves.
"""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from components.example_gen import to_example
from components.sources import get_source, locate
from components.sources.images import MNIST
from components.sources.sequences import YOGURT
from components.sources.tabular import IRIS
from components.splits import ALL_RECORDS
from modules.export import OUTPUT_KEY
from pipelines.spec.pipeline_spec import load_spec
from tests.components.formats import read_records, write_mnist_npz
from tests.conftest import spec_with
from tests.pipelines.runs import run_and_load_served, serve


def test_gradient_tape_model_is_trained_evaluated_pushed_and_served(tmp_path):
    spec = spec_with(load_spec("iris_tape"), training={"epochs": 20, "validation_freq": 10},
                     evaluation={"lower_bound": 0.5})
    summary, serving = run_and_load_served(spec, tmp_path)
    assert summary.metrics["example_count"] == 30
    rows = read_records("iris")[ALL_RECORDS][:3]
    probabilities = serve(serving, [{k: v for k, v in r.items() if k != "species"} for r in rows], IRIS)
    assert probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("spec_id", ["mnist_custom_dense", "mnist_augmented"])
def test_image_models_serve_raw_image_bytes(tmp_path, spec_id):
    """Subclassed layers and model (logits on one-hot targets); augmentation layers in training only."""
    write_mnist_npz(tmp_path / "data", n_train=64, n_test=16)
    spec = spec_with(load_spec(spec_id), training={"epochs": 1, "batch_size": 16},
                     evaluation={"lower_bound": 0.0})
    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("mnist"), str(tmp_path / "data")))
    assert summary.metrics["example_count"] == 16
    images = np.random.default_rng(0).integers(0, 256, size=(2, 28, 28)).astype(np.uint8)
    outputs = serve(serving, [{"image": image} for image in images], MNIST)
    assert outputs.shape == (2, 10) and np.isfinite(outputs).all()
    np.testing.assert_allclose(outputs, serve(serving, [{"image": image} for image in images], MNIST))


def test_custom_loss_regression_is_gated_on_mse(tmp_path):
    spec = spec_with(load_spec("yogurt_profit"), training={"epochs": 300, "validation_freq": 100},
                     evaluation={"upper_bound": 1.0})
    summary, serving = run_and_load_served(spec, tmp_path)
    assert summary.metrics["mean_squared_error"] <= 1.0
    predictions = serve(serving, [{"x1": 0.5, "x2": 0.5}, {"x1": 1.0, "x2": 0.0}], YOGURT)
    assert predictions.shape == (2, 1)


@pytest.mark.parametrize("spec_id", ["mnist_mlp", "mnist_mlp5", "fashion_mlp5", "mnist_augmented"])
def test_image_specs_run_on_another_source_of_the_same_features(spec_id):
    """`--source mnist_5k` (or any source with an image feature) is checked like a spec."""
    from pipelines.cli.common import spec_from_args

    class Args:
        spec = None
        id = spec_id
        source = "mnist_5k"

    assert spec_from_args(Args).data.source == "mnist_5k"


def test_vae_is_gated_on_reconstruction_loss_and_served(tmp_path):
    """No label: the Evaluator averages the per-example reconstruction loss the model returns."""
    write_mnist_npz(tmp_path / "data", n_train=64, n_test=16)
    spec = spec_with(load_spec("mnist_vae"), training={"epochs": 1, "batch_size": 16},
                     evaluation={"upper_bound": 1.0})
    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("mnist"), str(tmp_path / "data")))
    assert 0.0 < summary.metrics["reconstruction_loss"] <= 1.0
    images = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28)).astype(np.uint8)
    examples = tf.constant([to_example({"image": image}, MNIST).SerializeToString() for image in images])
    outputs = serving(examples=examples)
    assert outputs[OUTPUT_KEY].shape == (3, 784)
    assert outputs["reconstruction_loss"].shape == (3,)
    # The served loss is the binary cross-entropy of each image against its reconstruction.
    pixels = images.reshape(3, -1) / 255.0
    expected = tf.keras.losses.binary_crossentropy(pixels, outputs[OUTPUT_KEY], from_logits=True).numpy()
    np.testing.assert_allclose(outputs["reconstruction_loss"].numpy(), expected, rtol=1e-4)
