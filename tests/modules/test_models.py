"""Builders, parametrized over the whole registry: shape, dtype, course parameter counts, a step,
and a save/reload through the SavedModel format the Pusher ships."""
from __future__ import annotations

import numpy as np
import pytest
import tf_keras as keras

from modules.registry import build_model, registered_names, resolve_model
from modules.spec_sections import TrainingConfig
from modules.testing import build_and_step, parameter_count

# Parameter counts the course prints in its model.summary(), per registry name and hparams.
COURSE_PARAMETER_COUNTS = {
    "iris_softmax": 15,
    "iris_tape": 15,            # the same 4 -> 3 layer, trained by hand
    "mnist_mlp": 101_770,
    "mnist_mlp5": 244_522,      # fashion_mlp5's summary (001)
    "mnist_custom_dense": 244_522,  # the same five layers as MyDense
    "cifar10_baseline": 198_506,
    "cifar10_lenet5": 62_006,
    "cifar10_alexnet8": 9_639_178,
    "cifar10_vgg16": 15_262_026,
    "cifar10_inception10": 121_418,
    "cifar10_resnet18": 11_183_562,
    # 002 prints no count; by hand: 3072*256+256, 256*128+128, 128*64+64, 64*32+32, 32*10+10.
    "cifar10_custom_dense": 830_250,
    # 002 prints no count; by hand: 10 convs 3*3*c_in*c_out + c_out (64, 64, 128, 128, 256, 256, 512,
    # 512, 512, 512) = 9,404,992, and Dense 512*256+256, 256*128+128, 128*100+100 = 177,124.
    "cifar100_vgg13": 9_582_116,
    "letters_onehot": 47,       # 004 M25/M26: SimpleRNN(3) on one-hot abcde, Dense(5)
    "letters_embedding": 48,    # 004 M27: Embedding(5, 2), SimpleRNN(3), Dense(5)
    "stock_lstm": 98_741,       # 004 M30
}
CIFAR = {"input_shape": [32, 32, 3]}
# Hyperparameters to build each registered model for the tests (the shipped specs' values).
TEST_HPARAMS = {
    "iris_softmax": {"input_shape": [4]},
    "iris_tape": {"input_shape": [4]},
    "dot_mlp": {"input_shape": [2], "l2_loss_weight": 0.03},
    "yogurt_linear": {"input_shape": [2]},
    "digits_mlp": {"input_shape": [64]},
    "boston_mlp": {"input_shape": [13]},
    "tabular_mlp": {"input_shape": [12], "num_classes": 3, "hidden": [16, 8], "dropout": 0.1, "seed": 3},
    "mnist_mlp": {"input_shape": [28, 28]},
    "mnist_mlp_tape": {"input_shape": [28, 28]},
    "mnist_mlp5": {"input_shape": [28, 28], "dropout": 0.5},
    "mnist_custom_dense": {"input_shape": [28, 28]},
    "mnist_autoencoder": {"input_shape": [28, 28]},
    "mnist_vae": {"input_shape": [28, 28], "seed": 1},
    "cifar10_baseline": CIFAR,
    "cifar10_lenet5": CIFAR,
    "cifar10_alexnet8": CIFAR,
    "cifar10_vgg16": CIFAR,
    "cifar10_inception10": CIFAR,
    "cifar10_resnet18": CIFAR,
    "cifar10_custom_dense": CIFAR,
    "cifar10_resnet50_transfer": {**CIFAR, "image_size": 32, "weights": "random"},
    "cifar10_vgg16_transfer": {**CIFAR, "image_size": 32, "weights": "random"},
    "cifar100_vgg13": CIFAR,
    "cifar100_resnet18": CIFAR,
    "imdb_simplernn": {"input_shape": [80]},
    "imdb_lstm": {"input_shape": [80]},
    "imdb_gru": {"input_shape": [80]},
    "letters_onehot": {"input_shape": [4, 5]},
    "letters_embedding": {"input_shape": [1]},
    "stock_rnn": {"input_shape": [60]},
    "stock_lstm": {"input_shape": [60]},
    "stock_gru": {"input_shape": [60]},
    "dcgan": {"input_shape": [28, 28], "seed": 1},
}
# Generators and discriminators train in pairs: tests/modules/test_gan.py has their own tests.
GENERATIVE = {"dcgan"}
PREDICTIVE = [name for name in registered_names() if name not in GENERATIVE]
# Models that read integer ids (an Embedding first), with the number of ids.
ID_INPUTS = {"imdb_simplernn": 10_000, "imdb_lstm": 10_000, "imdb_gru": 10_000, "letters_embedding": 5}
# Autoencoders reconstruct their input: 784 logits out, trained against the flattened pixels.
RECONSTRUCTS = {"mnist_autoencoder", "mnist_vae"}
# What each model's output is: softmax probabilities, logits, or one regression value.
OUTPUTS = {"iris_softmax": "softmax", "iris_tape": "softmax", "tabular_mlp": "softmax", "mnist_mlp": "softmax",
           "dot_mlp": "value",
           "yogurt_linear": "value", "boston_mlp": "value",
           "letters_onehot": "softmax", "letters_embedding": "softmax",
           **{name: "value" for name in ("stock_rnn", "stock_lstm", "stock_gru",
                                         *(n for n in ID_INPUTS if n.startswith("imdb")))},
           **{name: "softmax" for name in registered_names()
              if name.startswith("cifar10_") and name != "cifar10_custom_dense"}}  # MyDense: logits


def _training(name: str) -> TrainingConfig:
    if name in RECONSTRUCTS:
        return TrainingConfig(epochs=1, optimizer={"name": "adam", "learning_rate": 0.01}, loss="binary_crossentropy",
                              from_logits=True, target="input")
    loss = "mean_squared_error" if OUTPUTS.get(name) == "value" else "sparse_categorical_crossentropy"
    return TrainingConfig(epochs=1, optimizer={"name": "sgd", "learning_rate": 0.1}, loss=loss,
                          from_logits=OUTPUTS.get(name) is None)


def test_every_registered_model_has_test_hparams():
    assert set(registered_names()) == set(TEST_HPARAMS)


def _batch(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    hparams = TEST_HPARAMS[name]
    if name in ID_INPUTS:
        x = rng.integers(0, ID_INPUTS[name], size=(8, *hparams["input_shape"]))
    else:
        x = rng.uniform(size=(8, *hparams["input_shape"])).astype("float32")
    parsed = resolve_model(name).hparams_class.model_validate(hparams)
    if name in RECONSTRUCTS:
        return x, x.reshape(8, -1), x[0].size
    width = getattr(parsed, "num_classes", 1)
    y = rng.integers(0, width, size=(8,)) if OUTPUTS.get(name) != "value" else rng.normal(size=(8, 1))
    return x, y, width


@pytest.mark.parametrize("name", PREDICTIVE)
def test_output_shape_dtype_and_one_step_moves_the_weights(name):
    x, y, width = _batch(name, np.random.default_rng(0))
    result = build_and_step(name, TEST_HPARAMS[name], x, y, _training(name))
    assert result.outputs.shape == (8, width)
    assert result.outputs.dtype == np.float32
    if OUTPUTS.get(name) == "softmax":
        np.testing.assert_allclose(result.outputs.sum(axis=1), 1.0, rtol=1e-5)
    assert result.weights_changed


@pytest.mark.parametrize("name", PREDICTIVE)
def test_saves_and_reloads_with_the_same_predictions(name, tmp_path):
    model = build_model(name, TEST_HPARAMS[name])
    x, _, _ = _batch(name, np.random.default_rng(1))
    expected = model(x, training=False).numpy()
    model.save(tmp_path / name, save_format="tf")
    reloaded = keras.models.load_model(tmp_path / name, compile=False)
    np.testing.assert_allclose(reloaded(x, training=False).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(COURSE_PARAMETER_COUNTS))
def test_parameter_count_matches_the_course(name):
    assert parameter_count(build_model(name, TEST_HPARAMS[name])) == COURSE_PARAMETER_COUNTS[name]


def test_augmentation_changes_images_in_training_only():
    hparams = {"input_shape": [28, 28], "augmentation": {"seed": 3}}
    model = build_model("mnist_mlp", hparams)
    x = np.random.default_rng(2).uniform(size=(4, 28, 28)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False))
    plain = build_model("mnist_mlp", {"input_shape": [28, 28]})
    assert parameter_count(model) == parameter_count(plain) == 101_770


def test_dot_l2_is_the_courses_l2_loss():
    """0.03 * tf.nn.l2_loss(w) summed over w1 and w2, as 004 M7 adds it."""
    import tensorflow as tf

    model = build_model("dot_mlp", {"input_shape": [2], "l2_loss_weight": 0.03})
    kernels = [layer.kernel for layer in model.layers]
    expected = 0.03 * sum(float(tf.nn.l2_loss(k)) for k in kernels)
    assert float(tf.add_n(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_unknown_model_lists_the_registered_ones():
    with pytest.raises(KeyError, match="expected one of: boston_mlp, cifar100_resnet18"):
        resolve_model("lenet6")


def test_user_builder_by_dotted_path_builds():
    model = build_model("tests.modules.user_models:tiny", {"input_shape": [2], "units": 5})
    assert model.output_shape == (None, 5)


def test_vae_adds_the_kl_term_in_training_only_and_reconstructs_from_mu():
    import tensorflow as tf

    model = build_model("mnist_vae", {"input_shape": [28, 28], "seed": 1})
    x = np.random.default_rng(3).uniform(size=(4, 28, 28)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))  # z = mu
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) >= 0.0
    mu, log_var = model.encode(x)
    kl = -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mu) - tf.exp(log_var), axis=-1)
    assert float(model.losses[0]) == pytest.approx(float(tf.reduce_mean(kl)) / 784, rel=1e-5)


def _batchnorm_moving_means(model: keras.Model) -> list[np.ndarray]:
    return [layer.moving_mean.numpy().copy() for layer in model.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.mark.parametrize("course_batchnorm", [True, False])
def test_inception10_keeps_the_courses_inference_mode_batchnorm(course_batchnorm):
    """004 M23's ConvBNRelu calls BN with training=False: a training step leaves its statistics."""
    model = build_model("cifar10_inception10", {"course_batchnorm": course_batchnorm, "num_blocks": 1, "init_channels": 4})
    model.compile("adam", "sparse_categorical_crossentropy")
    before = _batchnorm_moving_means(model)
    x = np.random.default_rng(4).uniform(size=(4, 32, 32, 3)).astype("float32")
    model.train_on_batch(x, np.arange(4))
    unchanged = all(np.array_equal(a, b) for a, b in zip(before, _batchnorm_moving_means(model), strict=True))
    assert unchanged is course_batchnorm


def _one_by_one_convolutions(model: keras.Model) -> list[keras.layers.Conv2D]:
    return [layer for layer in model.layers
            if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1)]


@pytest.mark.parametrize("name", ["cifar10_resnet18", "cifar100_resnet18"])
def test_resnet_shortcuts_project_only_where_the_block_strides(name):
    """Three strided blocks ([2,2,2,2]: the first of layers 2-4), so three 1x1 projections, each
    with stride 2; 002's notes had the rule inverted (a projection wherever stride == 1)."""
    projections = _one_by_one_convolutions(build_model(name, {}))
    assert [p.strides for p in projections] == [(2, 2)] * 3
    assert [p.filters for p in projections] == [128, 256, 512]


def test_letters_a_to_z_embedding_has_the_courses_468_parameters():
    """004 M28: Embedding(26, 2), SimpleRNN(10), Dense(26)."""
    model = build_model("letters_embedding", {"input_shape": [4], "alphabet_size": 26, "units": 10})
    assert parameter_count(model) == 468


@pytest.mark.parametrize("name", ["imdb_simplernn", "imdb_lstm", "imdb_gru"])
def test_imdb_models_keep_their_dropout_through_save_and_reload(name, tmp_path):
    """TFX's own IMDB example drops the LSTM dropout to be able to save; here it saves with it."""
    model = build_model(name, {"input_shape": [80]})
    model.save(tmp_path / name, save_format="tf")
    reloaded = keras.models.load_model(tmp_path / name, compile=False)
    recurrent = [layer for layer in reloaded.layers if isinstance(layer, keras.layers.RNN)]
    assert len(recurrent) == 2 and all(layer.cell.dropout == 0.5 for layer in recurrent)
    x = np.random.default_rng(5).integers(1, 10_000, size=(16, 80))
    np.testing.assert_allclose(reloaded(x, training=False), reloaded(x, training=False))
    assert not np.allclose(reloaded(x, training=True), reloaded(x, training=False))  # dropout active


def test_the_hyperparameter_table_lists_exactly_the_registered_models():
    """Specs are checked against `MODEL_HPARAMS` without importing Keras; the registry builds."""
    from modules.model_hparams import MODEL_HPARAMS

    assert sorted(MODEL_HPARAMS) == registered_names()
    for name, schema in MODEL_HPARAMS.items():
        assert resolve_model(name).hparams_class is schema


@pytest.mark.parametrize(("hparams", "width", "activation"), [
    ({"binary": True}, 1, "sigmoid"), ({}, 1, "linear"), ({"num_classes": 4}, 4, "softmax")])
def test_tabular_mlp_output_fits_the_task(hparams, width, activation):
    model = build_model("tabular_mlp", {"input_shape": [7], "hidden": [5], **hparams})
    assert model.output_shape == (None, width)
    assert model.layers[-1].activation.__name__ == activation
    assert model.count_params() == 7 * 5 + 5 + 5 * width + width
