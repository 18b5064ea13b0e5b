"""Builders of the MNIST family (course-models.md, "MNIST family"): 28x28 grey images in, as
Transform gives them ([batch, 28, 28] floats in [0, 1])."""
from __future__ import annotations

import tensorflow as tf
import tf_keras as keras
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from modules.registry import HParams, register_model


class Augmentation(BaseModel):
    """004 M14's ImageDataGenerator(rotation_range=45, width/height_shift_range=.15,
    zoom_range=.5) as Keras preprocessing layers: active in training only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rotation_degrees: float = Field(45.0, ge=0, le=180)
    shift: float = Field(0.15, ge=0, lt=1)
    zoom: float = Field(0.5, ge=0, lt=1)
    seed: int | None = None


class MnistMlpHParams(HParams):
    hidden: PositiveInt = 128
    num_classes: PositiveInt = 10
    augmentation: Augmentation | None = None


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
    MnistMlpHParams,
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


class TapeMlpHParams(HParams):
    hidden: tuple[PositiveInt, ...] = (256, 128)
    num_classes: PositiveInt = 10
    init_stddev: PositiveFloat = 0.1
    seed: int | None = None


@register_model(
    "mnist_mlp_tape",
    TapeMlpHParams,
    "784 -> 256 relu -> 128 relu -> 10 linear, truncated-normal(0.1) weights, zero biases (000/001)",
)
def build_mnist_mlp_tape(hp: TapeMlpHParams) -> keras.Model:
    def dense(units: int, activation: str | None, offset: int) -> keras.layers.Dense:
        seed = None if hp.seed is None else hp.seed + offset
        return keras.layers.Dense(units, activation=activation, bias_initializer="zeros",
                                  kernel_initializer=keras.initializers.TruncatedNormal(stddev=hp.init_stddev, seed=seed))
    layers = [keras.Input(shape=hp.input_shape), keras.layers.Flatten()]
    layers += [dense(units, "relu", i) for i, units in enumerate(hp.hidden)]
    layers.append(dense(hp.num_classes, None, len(hp.hidden)))
    return keras.Sequential(layers, name="mnist_mlp_tape")


class Mlp5HParams(HParams):
    hidden: tuple[PositiveInt, ...] = (256, 128, 64, 32)
    num_classes: PositiveInt = 10
    dropout: float | None = Field(None, ge=0, lt=1, description="after the first two hidden layers (002)")


@register_model(
    "mnist_mlp5",
    Mlp5HParams,
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
    """002's custom layer: `inputs @ kernel + bias`, nothing else."""

    def __init__(self, inp_dim: int, outp_dim: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.inp_dim, self.outp_dim = inp_dim, outp_dim
        self.kernel = self.add_weight(name="w", shape=[inp_dim, outp_dim], initializer="glorot_uniform")
        self.bias = self.add_weight(name="b", shape=[outp_dim], initializer="zeros")

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
        self.fcs = [MyDense(a, b, name=f"fc{i + 1}") for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        x = tf.reshape(tf.cast(inputs, tf.float32), [-1, self.sizes[0]])
        for index, fc in enumerate(self.fcs):
            x = fc(x)
            if index < len(self.fcs) - 1:
                x = tf.nn.relu(x)
        return x

    def get_config(self) -> dict[str, object]:
        return {"sizes": self.sizes}


class CustomDenseHParams(HParams):
    hidden: tuple[PositiveInt, ...] = (256, 128, 64, 32)
    num_classes: PositiveInt = 10


@register_model(
    "mnist_custom_dense",
    CustomDenseHParams,
    "subclassed MyModel of five subclassed MyDense layers, 784 -> ... -> 10 logits (002)",
)
def build_mnist_custom_dense(hp: CustomDenseHParams) -> keras.Model:
    flat = 1
    for dim in hp.input_shape:
        flat *= dim
    model = MyModel((flat, *hp.hidden, hp.num_classes), name="mnist_custom_dense")
    model.build((None, *hp.input_shape))
    return model
