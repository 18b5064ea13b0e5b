"""Transfer learning (002, 预训练网络): a Keras application pretrained on ImageNet as a frozen
feature extractor under a new classification head, optionally fine-tuning its last layers.

The notes' steps: put new dense layers on the pretrained convolution base, freeze the base, train
the head; then unfreeze the top of the base and train both (`fine_tune_layers`). The ImageNet
weights are read from where Keras keeps them (`~/.keras/models/<file>`, `KERAS_HOME` honoured) or a
path in the spec; nothing downloads, and a missing file is an error naming it and its source.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf
import tf_keras as keras

from modules.model_hparams import TransferHParams
from modules.pretrained import RESNET50, VGG16, WeightsFile, weights_path
from modules.registry import register_model

layers = keras.layers
# The constructor of each application the registry's transfer models use.
APPLICATIONS: dict[str, Callable[..., keras.Model]] = {
    RESNET50.application: keras.applications.ResNet50,
    VGG16.application: keras.applications.VGG16,
}


@keras.utils.register_keras_serializable(package="course")
class CaffePreprocess(layers.Layer):
    """`keras.applications.{resnet50,vgg16}.preprocess_input` as a layer: RGB to BGR, minus the
    ImageNet channel means, on 0..255 pixels (both applications use this "caffe" mode)."""

    MEANS_BGR = (103.939, 116.779, 123.68)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.reverse(tf.cast(inputs, tf.float32), axis=[-1]) - tf.constant(self.MEANS_BGR)


def convolution_base(weights_file: WeightsFile, hp: TransferHParams) -> keras.Model:
    """The application without its top, pretrained weights loaded, frozen but for the last
    `fine_tune_layers` (batch normalization layers always stay frozen, as Keras' guide advises)."""
    build = APPLICATIONS[weights_file.application]
    base = build(include_top=False, weights=None, input_shape=(hp.image_size, hp.image_size, 3))
    path = weights_path(weights_file, hp.weights)
    if path is not None:
        base.load_weights(path)
    trainable_from = len(base.layers) - hp.fine_tune_layers
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= trainable_from and not isinstance(layer, layers.BatchNormalization)
    return base


def transfer_model(weights_file: WeightsFile, hp: TransferHParams, name: str) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    x = layers.Resizing(hp.image_size, hp.image_size)(inputs)
    x = CaffePreprocess()(x)
    base = convolution_base(weights_file, hp)
    # training=False: the base's batch normalization keeps ImageNet's statistics while the head trains.
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    for units in hp.head:
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(hp.dropout)(x)
    outputs = layers.Dense(hp.num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model(
    "cifar10_resnet50_transfer",
    "ResNet50 pretrained on ImageNet (frozen, last N layers fine-tuned), GAP, Dense 256, Dropout, softmax (002)",
)
def build_cifar10_resnet50_transfer(hp: TransferHParams) -> keras.Model:
    return transfer_model(RESNET50, hp, "cifar10_resnet50_transfer")


@register_model(
    "cifar10_vgg16_transfer",
    "VGG16 pretrained on ImageNet (frozen, last N layers fine-tuned), GAP, Dense 256, Dropout, softmax (002)",
)
def build_cifar10_vgg16_transfer(hp: TransferHParams) -> keras.Model:
    return transfer_model(VGG16, hp, "cifar10_vgg16_transfer")
