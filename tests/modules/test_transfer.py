"""Transfer learning: the pretrained weights are read from where Keras keeps them (a file the test
writes from a randomly initialised application, in Keras' own layout), loaded, and stay frozen."""
from __future__ import annotations

import numpy as np
import pytest
import tf_keras as keras

from modules.model_hparams import TransferHParams
from modules.models.transfer import APPLICATIONS, transfer_model
from modules.pretrained import RESNET50, VGG16, MissingWeightsError, missing_weights
from modules.registry import build_model
from modules.spec_sections import TrainingConfig
from modules.testing import build_and_step

# Keras' documented sizes without the top, plus the head: GAP -> Dense 256 -> Dense 10.
PARAMETERS = {"cifar10_resnet50_transfer": (23_587_712, 24_114_826), "cifar10_vgg16_transfer": (14_714_688, 14_848_586)}
TRAINING = TrainingConfig(epochs=1, optimizer={"name": "adam", "learning_rate": 0.01},
                          loss="sparse_categorical_crossentropy")


def _base(model: keras.Model) -> keras.Model:
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


@pytest.fixture(scope="module")
def vgg16_weights(tmp_path_factory):
    """VGG16's no-top weights file under KERAS_HOME/models, from a random VGG16 (Keras' h5 layout)."""
    keras_home = tmp_path_factory.mktemp("keras_home")
    base = APPLICATIONS[VGG16.application](include_top=False, weights=None, input_shape=(32, 32, 3))
    (keras_home / "models").mkdir()
    base.save_weights(str(keras_home / "models" / VGG16.file_name))
    return keras_home, base.get_weights()


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameter_counts_are_the_applications_and_only_the_head_trains(name):
    model = build_model(name, {"input_shape": [32, 32, 3], "image_size": 32, "weights": "random"})
    base_count, total = PARAMETERS[name]
    assert _base(model).count_params() == base_count and model.count_params() == total
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == total - base_count


def test_imagenet_weights_are_read_from_keras_home_and_stay_frozen(vgg16_weights, monkeypatch):
    keras_home, saved = vgg16_weights
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(8, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=(8,))
    step = build_and_step("cifar10_vgg16_transfer", {"input_shape": [32, 32, 3], "image_size": 32}, x, y, TRAINING)
    base = _base(step.model)
    for loaded, written in zip(base.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(loaded, written)
    assert step.weights_changed  # the head trained
    names = [w.name for w in step.model.weights]
    before = dict(zip(names, step.weights_before, strict=True))
    after = dict(zip(names, step.weights_after, strict=True))
    base_names = {w.name for w in base.weights}
    assert all(np.array_equal(before[n], after[n]) for n in base_names)


def test_fine_tune_layers_train_the_top_of_the_base(vgg16_weights, monkeypatch):
    keras_home, _ = vgg16_weights
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    model = build_model("cifar10_vgg16_transfer", {"input_shape": [32, 32, 3], "image_size": 32, "fine_tune_layers": 4})
    trainable_base = [layer.name for layer in _base(model).layers if layer.trainable and layer.weights]
    assert trainable_base == ["block5_conv1", "block5_conv2", "block5_conv3"]  # the last 4 layers: 3 convs and a pool


def test_missing_weights_name_the_file_and_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as caught:
        transfer_model(RESNET50, TransferHParams(image_size=32), "resnet")
    message = str(caught.value)
    assert missing_weights("cifar10_resnet50_transfer", {}) == message  # what `run` checks before TF
    assert str(tmp_path / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5") in message
    assert "keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "Nothing downloads here" in message


def test_the_preprocessing_layer_is_the_applications_preprocess_input():
    from modules.models.transfer import CaffePreprocess

    pixels = np.random.default_rng(2).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    for preprocess in (keras.applications.resnet50.preprocess_input, keras.applications.vgg16.preprocess_input):
        np.testing.assert_allclose(CaffePreprocess()(pixels).numpy(), preprocess(pixels.copy()), rtol=1e-6)
