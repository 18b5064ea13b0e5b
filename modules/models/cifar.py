"""Builders of the CIFAR networks (docs/course.md, "CIFAR convolution networks"), and 002's network
of MyDense layers on CIFAR-10 (the MNIST lesson's subclassed model, reused).

Input: [batch, 32, 32, 3] floats in [0, 1] (the MyDense network: [-1, 1]), as Transform gives them.
The course writes each convolution model as
a subclassed `Model` whose `call` chains its layers; here the same layers, in the same order and
with the same arguments, are chained as functional models, which summarize, save and reload
without custom-object code. Block helpers (`conv_bn_relu`, `inception_block`, `residual_block`)
correspond to the course's `ConvBNRelu`, `InceptionBlk`, and both `ResnetBlock` (004) and
`BasicBlock` (002).
"""
from __future__ import annotations

from typing import Sequence

import tensorflow as tf
import tf_keras as keras

from modules.model_hparams import (
    AlexNetHParams,
    BasicResNetHParams,
    CifarHParams,
    CustomDenseHParams,
    DropoutCifarHParams,
    InceptionHParams,
    ResNetHParams,
    Vgg13HParams,
)
from modules.models.mnist import custom_dense_model
from modules.registry import register_model

layers = keras.layers


def _classifier(x: tf.Tensor, num_classes: int, **dense_kwargs: object) -> tf.Tensor:
    return layers.Dense(num_classes, activation="softmax", **dense_kwargs)(x)


@register_model(
    "cifar10_baseline",
    "Conv 6@5x5 same, BN, relu, MaxPool 2, Dropout .2, Flatten, Dense128, Dropout .2, Dense10: "
    "198,506 parameters (004 M19)",
)
def build_cifar10_baseline(hp: DropoutCifarHParams) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    x = conv_bn_relu(inputs, 6, kernel_size=5)
    x = layers.MaxPool2D(pool_size=(2, 2), strides=2, padding="same")(x)
    x = layers.Dropout(hp.dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(hp.dropout)(x)
    return keras.Model(inputs, _classifier(x, hp.num_classes), name="cifar10_baseline")


@register_model(
    "cifar10_lenet5",
    "Conv 6@5x5 sigmoid, MaxPool 2; Conv 16@5x5 sigmoid, MaxPool 2; Dense120, Dense84 sigmoid, "
    "Dense10: 62,006 parameters (004 M20)",
)
def build_cifar10_lenet5(hp: CifarHParams) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    x = inputs
    for filters in (6, 16):
        x = layers.Conv2D(filters, (5, 5), activation="sigmoid")(x)
        x = layers.MaxPool2D(pool_size=(2, 2), strides=2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="sigmoid")(x)
    x = layers.Dense(84, activation="sigmoid")(x)
    return keras.Model(inputs, _classifier(x, hp.num_classes), name="cifar10_lenet5")


@register_model(
    "cifar10_alexnet8",
    "Conv96 BN relu MaxPool3/2; Conv256 BN relu MaxPool3/2; Conv384, Conv384, Conv256 same relu, "
    "MaxPool3/2; Dense2048, Dropout .5 (x2), Dense10: 9,639,178 parameters (004 M21)",
)
def build_cifar10_alexnet8(hp: AlexNetHParams) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    x = inputs
    for filters in (96, 256):
        x = conv_bn_relu(x, filters, padding="valid")
        x = layers.MaxPool2D(pool_size=(3, 3), strides=2)(x)
    for filters in (384, 384, 256):
        x = layers.Conv2D(filters, (3, 3), padding="same", activation="relu")(x)
    x = layers.MaxPool2D(pool_size=(3, 3), strides=2)(x)
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(2048, activation="relu")(x)
        x = layers.Dropout(hp.dropout)(x)
    return keras.Model(inputs, _classifier(x, hp.num_classes), name="cifar10_alexnet8")


# VGG16's 13 convolutions in five groups, each group closed by MaxPool 2 and Dropout .2 (004 M22).
VGG16_GROUPS: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


@register_model(
    "cifar10_vgg16",
    "13 x (Conv3x3 same, BN, relu) in groups 64,64/128,128/256x3/512x3/512x3, MaxPool + Dropout .2 "
    "after each group; Dense512, Dense512 (Dropout .2), Dense10: 15,262,026 parameters (004 M22)",
)
def build_cifar10_vgg16(hp: DropoutCifarHParams) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    x = inputs
    for group in VGG16_GROUPS:
        for filters in group:
            x = conv_bn_relu(x, filters)
        x = layers.MaxPool2D(pool_size=(2, 2), strides=2, padding="same")(x)
        x = layers.Dropout(hp.dropout)(x)
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(512, activation="relu")(x)
        x = layers.Dropout(hp.dropout)(x)
    return keras.Model(inputs, _classifier(x, hp.num_classes), name="cifar10_vgg16")


def conv_bn_relu(
    x: tf.Tensor, filters: int, kernel_size: int = 3, strides: int = 1, bn_training: bool | None = None,
    padding: str = "same", use_bias: bool = True,
) -> tf.Tensor:
    """The course's CBA unit (`ConvBNRelu`): Conv, BatchNormalization, relu.

    `bn_training=False` reproduces 004 M23's `self.model(x, training=False)`: its batch
    normalization then never uses batch statistics nor updates its moving averages.
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias)(x)
    x = layers.BatchNormalization()(x, training=bn_training)
    return layers.Activation("relu")(x)


def inception_block(x: tf.Tensor, channels: int, strides: int, bn_training: bool | None) -> tf.Tensor:
    """`InceptionBlk`: 1x1 / 1x1 -> 3x3 / 1x1 -> 5x5 / MaxPool 3 -> 1x1, concatenated on channels."""
    def unit(inputs: tf.Tensor, kernel_size: int, unit_strides: int) -> tf.Tensor:
        return conv_bn_relu(inputs, channels, kernel_size, unit_strides, bn_training)

    branch1 = unit(x, 1, strides)
    branch2 = unit(unit(x, 1, strides), 3, 1)
    branch3 = unit(unit(x, 1, strides), 5, 1)
    branch4 = unit(layers.MaxPool2D(3, strides=1, padding="same")(x), 1, strides)
    return layers.Concatenate(axis=3)([branch1, branch2, branch3, branch4])


@register_model(
    "cifar10_inception10",
    "ConvBNRelu(16); 2 blocks x 2 Inception blocks (strides 2 then 1), channels 16 -> 32; GAP; "
    "Dense10: 121,418 parameters (004 M23)",
)
def build_cifar10_inception10(hp: InceptionHParams) -> keras.Model:
    bn_training = False if hp.course_batchnorm else None
    inputs = keras.Input(shape=hp.input_shape)
    x = conv_bn_relu(inputs, hp.init_channels, bn_training=bn_training)
    channels = hp.init_channels
    for _ in range(hp.num_blocks):
        x = inception_block(x, channels, strides=2, bn_training=bn_training)
        x = inception_block(x, channels, strides=1, bn_training=bn_training)
        channels *= 2
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _classifier(x, hp.num_classes), name="cifar10_inception10")


def residual_block(x: tf.Tensor, filters: int, strides: int, use_bias: bool) -> tf.Tensor:
    """A basic residual block: Conv3x3 BN relu, Conv3x3 BN, plus the shortcut, then relu.

    004 M24's `ResnetBlock` (convolutions without bias) and 002's `BasicBlock` (with bias). The
    shortcut is a 1x1 convolution + BN when the block strides, else the identity. 002's notes
    build the projection `if stride == 1` and the identity otherwise, which cannot add up (a
    strided block's output is smaller than its input); fixed here, as 004 does it.
    """
    y = conv_bn_relu(x, filters, strides=strides, use_bias=use_bias)
    y = layers.Conv2D(filters, (3, 3), strides=1, padding="same", use_bias=use_bias)(y)
    y = layers.BatchNormalization()(y)
    residual = x
    if strides != 1:
        residual = layers.Conv2D(filters, (1, 1), strides=strides, padding="same", use_bias=use_bias)(x)
        residual = layers.BatchNormalization()(residual)
    return layers.Activation("relu")(layers.Add()([y, residual]))


def residual_stages(x: tf.Tensor, filters: int, blocks_per_stage: Sequence[int], use_bias: bool) -> tf.Tensor:
    """Stages of residual blocks, filters doubling per stage; the first block of every stage but
    the first strides 2 (004's `ResNet18` loop, 002's `build_resblock` calls)."""
    for stage, blocks in enumerate(blocks_per_stage):
        for index in range(blocks):
            x = residual_block(x, filters, strides=2 if stage > 0 and index == 0 else 1, use_bias=use_bias)
        filters *= 2
    return x


@register_model(
    "cifar10_resnet18",
    "stem Conv64 BN relu; [2,2,2,2] basic blocks (3x3, no bias, BN; 1x1 shortcut when striding), "
    "64 -> 512; GAP; Dense10 with L2: 11,183,562 parameters (004 M24)",
)
def build_cifar10_resnet18(hp: ResNetHParams) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    x = conv_bn_relu(inputs, hp.initial_filters, use_bias=False)
    x = residual_stages(x, hp.initial_filters, hp.block_list, use_bias=False)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = _classifier(x, hp.num_classes, kernel_regularizer=keras.regularizers.l2(hp.l2))
    return keras.Model(inputs, outputs, name="cifar10_resnet18")


@register_model(
    "cifar100_vgg13",
    "5 units of 2 x Conv3x3 same relu + MaxPool 2 (64 -> 128 -> 256 -> 512 -> 512), Dense256, "
    "Dense128 relu, Dense100 logits (002)",
)
def build_cifar100_vgg13(hp: Vgg13HParams) -> keras.Model:
    """002's `conv_layers` and `fc_net`; the course flattens the [b, 1, 1, 512] features."""
    inputs = keras.Input(shape=hp.input_shape)
    x = inputs
    for filters in hp.units:
        for _ in range(2):
            x = layers.Conv2D(filters, kernel_size=(3, 3), padding="same", activation="relu")(x)
        x = layers.MaxPool2D(pool_size=(2, 2), strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    for units in hp.dense:
        x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(hp.num_classes)(x), name="cifar100_vgg13")


@register_model(
    "cifar100_resnet18",
    "002's ResNet18: stem Conv64 BN relu MaxPool; BasicBlock layers [2,2,2,2] of 64/128/256/512 "
    "(the notes' inverted shortcut rule fixed); GAP; Dense100 logits",
)
def build_cifar100_resnet18(hp: BasicResNetHParams) -> keras.Model:
    inputs = keras.Input(shape=hp.input_shape)
    # The course's stem: Conv2D(64, (3, 3), strides=(1, 1)) with Keras' default 'valid' padding.
    x = conv_bn_relu(inputs, 64, padding="valid")
    x = layers.MaxPool2D(pool_size=(2, 2), strides=(1, 1), padding="same")(x)
    x = residual_stages(x, 64, hp.layer_dims, use_bias=True)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(hp.num_classes)(x), name="cifar100_resnet18")


@register_model(
    "cifar10_custom_dense",
    "002's MyModel of five MyDense layers on CIFAR-10: 3072 -> 256 -> 128 -> 64 -> 32 -> 10 logits",
)
def build_cifar10_custom_dense(hp: CustomDenseHParams) -> keras.Model:
    """The MNIST network of `MyDense` layers (`modules.models.mnist.MyModel`) on 32x32x3 images."""
    return custom_dense_model(hp, "cifar10_custom_dense")
