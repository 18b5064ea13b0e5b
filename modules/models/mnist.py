"""Builders of the MNIST family (docs/course.md, "MNIST family"): 28x28 grey images in, as
Transform gives them ([batch, 28, 28] floats in [0, 1])."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from modules.model_hparams import (
    Augmentation,
    AutoencoderHParams,
    CustomDenseHParams,
    Mlp5HParams,
    MnistMlpHParams,
    TapeMlpHParams,
    VaeHParams,
)
from modules.registry import flat_size, offset_seed, register_model


def augmentation_layers(aug: Augmentation, image_shape: tuple[int, ...]) -> list[keras.layers.Layer]:
    """Random rotation, shift and zoom of a [h, w] image; identity outside training."""
    return [
        keras.layers.Reshape((*image_shape[:2], 1)),
        keras.layers.RandomRotation(aug.rotation_degrees / 360.0, fill_mode="constant", seed=aug.seed),
        keras.layers.RandomTranslation(aug.shift, aug.shift, fill_mode="constant", seed=aug.seed),
        keras.layers.RandomZoom((-aug.zoom, aug.zoom), fill_mode="constant", seed=aug.seed),
    ]


@register_model(
    "mnist_mlp",
    "Flatten, Dense(128, relu), Dense(10, softmax): 101,770 parameters (004 M11/M12); "
    "optional training-only augmentation (M14)",
)
def build_mnist_mlp(hp: MnistMlpHParams) -> keras.Model:
    layers: list[keras.layers.Layer] = [keras.Input(shape=hp.input_shape)]
    if hp.augmentation is not None:
        layers += augmentation_layers(hp.augmentation, hp.input_shape)
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(hp.hidden, activation="relu"),
        keras.layers.Dense(hp.num_classes, activation="softmax"),
    ]
    return keras.Sequential(layers, name="mnist_mlp")


@register_model(
    "mnist_mlp_tape",
    "784 -> 256 relu -> 128 relu -> 10 linear, truncated-normal(0.1) weights, zero biases (000/001)",
)
def build_mnist_mlp_tape(hp: TapeMlpHParams) -> keras.Model:
    def dense(units: int, activation: str | None, offset: int) -> keras.layers.Dense:
        init = keras.initializers.TruncatedNormal(stddev=hp.init_stddev, seed=offset_seed(hp.seed, offset))
        return keras.layers.Dense(units, activation=activation, bias_initializer="zeros", kernel_initializer=init)
    layers = [keras.Input(shape=hp.input_shape), keras.layers.Flatten()]
    layers += [dense(units, "relu", i) for i, units in enumerate(hp.hidden)]
    layers.append(dense(hp.num_classes, None, len(hp.hidden)))
    return keras.Sequential(layers, name="mnist_mlp_tape")


@register_model(
    "mnist_mlp5",
    "784 -> 256 -> 128 -> 64 -> 32 relu -> 10 logits: 244,522 parameters (001/002); optional dropout",
)
def build_mnist_mlp5(hp: Mlp5HParams) -> keras.Model:
    layers: list[keras.layers.Layer] = [keras.Input(shape=hp.input_shape), keras.layers.Flatten()]
    for index, units in enumerate(hp.hidden):
        layers.append(keras.layers.Dense(units, activation="relu"))
        if hp.dropout and index < 2:
            layers.append(keras.layers.Dropout(hp.dropout))
    layers.append(keras.layers.Dense(hp.num_classes))
    return keras.Sequential(layers, name="mnist_mlp5")


@keras.utils.register_keras_serializable(package="course")
class MyDense(keras.layers.Layer):
    """002's custom layer: `inputs @ kernel + bias`, nothing else.

    Both weights come from `add_variable('w', ...)` / `add_variable('b', ...)` in the course,
    whose default initializer is glorot_uniform, the bias included.
    """

    def __init__(self, inp_dim: int, outp_dim: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.inp_dim, self.outp_dim = inp_dim, outp_dim
        self.kernel = self.add_weight(name="w", shape=[inp_dim, outp_dim], initializer="glorot_uniform")
        self.bias = self.add_weight(name="b", shape=[outp_dim], initializer="glorot_uniform")

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return inputs @ self.kernel + self.bias

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "inp_dim": self.inp_dim, "outp_dim": self.outp_dim}


@keras.utils.register_keras_serializable(package="course")
class MyModel(keras.Model):
    """002's subclassed model: five `MyDense` layers, relu between them, logits out."""

    def __init__(self, sizes: tuple[int, ...] = (28 * 28, 256, 128, 64, 32, 10), **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.sizes = tuple(sizes)
        self.fcs = [MyDense(a, b, name=f"fc{i + 1}") for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))]

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        x = tf.reshape(tf.cast(inputs, tf.float32), [-1, self.sizes[0]])
        for index, fc in enumerate(self.fcs):
            x = fc(x)
            if index < len(self.fcs) - 1:
                x = tf.nn.relu(x)
        return x

    def get_config(self) -> dict[str, object]:
        return {"sizes": self.sizes}


@register_model(
    "mnist_custom_dense",
    "subclassed MyModel of five subclassed MyDense layers, 784 -> ... -> 10 logits (002)",
)
def build_mnist_custom_dense(hp: CustomDenseHParams) -> keras.Model:
    return custom_dense_model(hp, "mnist_custom_dense")


def custom_dense_model(hp: CustomDenseHParams, name: str) -> MyModel:
    """`MyModel` for `hp`'s input, built: flattened pixels -> `hp.hidden` -> `hp.num_classes` logits."""
    model = MyModel((flat_size(hp.input_shape), *hp.hidden, hp.num_classes), name=name)
    model.build((None, *hp.input_shape))
    return model


@register_model(
    "mnist_autoencoder",
    "784 -> 256 -> 128 -> 10 -> 128 -> 256 -> 784 logits, relu between (002 AE)",
)
def build_mnist_autoencoder(hp: AutoencoderHParams) -> keras.Model:
    """002's AE: an encoder and a decoder of Dense layers; the output is the 784 pixel logits."""
    layers: list[keras.layers.Layer] = [keras.Input(shape=hp.input_shape), keras.layers.Flatten()]
    layers += [keras.layers.Dense(units, activation="relu") for units in hp.encoder]
    layers.append(keras.layers.Dense(hp.code, name="code"))
    layers += [keras.layers.Dense(units, activation="relu") for units in reversed(hp.encoder)]
    layers.append(keras.layers.Dense(flat_size(hp.input_shape), name="reconstruction_logits"))
    return keras.Sequential(layers, name="mnist_autoencoder")


@keras.utils.register_keras_serializable(package="course")
class VAE(keras.Model):
    """002's VAE: encoder 784 -> 128 -> (mu, log sigma^2) of z; decoder z -> 128 -> 784 logits.

    The notes' typos are fixed: sigma = exp(0.5 * log sigma^2), and the KL term is
    -0.5 * sum(1 + log sigma^2 - mu^2 - sigma^2). The KL term is added with `add_loss`, divided by
    the number of pixels because Keras' binary cross-entropy averages over pixels where the course
    sums them: the two terms keep the course's ratio (and Adam's updates do not depend on the
    common scale). Outside training the code is z = mu, so reconstructions are deterministic.
    """

    def __init__(self, pixels: int = 784, hidden: int = 128, z_dim: int = 10, kl_weight: float = 1.0,
                 seed: int | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.pixels, self.hidden, self.z_dim, self.kl_weight, self.seed = pixels, hidden, z_dim, kl_weight, seed
        self.fc1 = keras.layers.Dense(hidden, activation="relu", name="fc1")
        self.fc_mu = keras.layers.Dense(z_dim, name="mu")
        self.fc_log_var = keras.layers.Dense(z_dim, name="log_var")
        self.fc4 = keras.layers.Dense(hidden, activation="relu", name="fc4")
        self.fc5 = keras.layers.Dense(pixels, name="reconstruction_logits")

    def encode(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h = self.fc1(tf.reshape(tf.cast(x, tf.float32), [-1, self.pixels]))
        return self.fc_mu(h), self.fc_log_var(h)

    def decode(self, z: tf.Tensor) -> tf.Tensor:
        return self.fc5(self.fc4(z))

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        mu, log_var = self.encode(inputs)
        if training:
            eps = tf.random.normal(tf.shape(log_var), seed=self.seed)
            z = mu + tf.exp(0.5 * log_var) * eps
            kl = -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mu) - tf.exp(log_var), axis=-1)
            self.add_loss(self.kl_weight * tf.reduce_mean(kl) / self.pixels)
        else:
            z = mu
        return self.decode(z)

    def get_config(self) -> dict[str, object]:
        return {"pixels": self.pixels, "hidden": self.hidden, "z_dim": self.z_dim,
                "kl_weight": self.kl_weight, "seed": self.seed}


@register_model("mnist_vae", "VAE: 784 -> 128 -> (mu, log sigma^2), z = 10; 10 -> 128 -> 784 logits (002)")
def build_mnist_vae(hp: VaeHParams) -> keras.Model:
    model = VAE(flat_size(hp.input_shape), hp.hidden, hp.z_dim, hp.kl_weight, hp.seed, name="mnist_vae")
    model.build((None, *hp.input_shape))
    return model
