"""Builders of the course's tabular models (docs/course.md, "Tabular and toy models")."""
from __future__ import annotations

import tf_keras as keras

from modules.initializers import CourseRandomNormal
from modules.model_hparams import (
    DigitsMlpHParams,
    DotMlpHParams,
    LinearHParams,
    RegressionMlpHParams,
    SoftmaxClassifierHParams,
    TabularMlpHParams,
    TapeLayerHParams,
)
from modules.registry import offset_seed, register_model


@register_model(
    "iris_softmax",
    "Dense(3, softmax, L2): one layer, 15 parameters (course 004 M9/M10)",
)
def build_iris_softmax(hp: SoftmaxClassifierHParams) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=hp.input_shape),
            keras.layers.Dense(
                hp.num_classes,
                activation="softmax",
                kernel_regularizer=keras.regularizers.l2(hp.l2),
            ),
        ],
        name="iris_softmax",
    )


@register_model(
    "iris_tape",
    "one layer 4->3 with softmax, weights and biases truncated-normal(0.1, seed 1) (course 004 M2)",
)
def build_iris_tape(hp: TapeLayerHParams) -> keras.Model:
    """The course's `w1`, `b1` as one Dense layer: `softmax(x @ w1 + b1)`."""
    init = keras.initializers.TruncatedNormal(stddev=hp.init_stddev, seed=hp.seed)
    return keras.Sequential(
        [keras.Input(shape=hp.input_shape),
         keras.layers.Dense(hp.num_classes, activation="softmax", kernel_initializer=init, bias_initializer=init)],
        name="iris_tape",
    )


@register_model(
    "dot_mlp",
    "2 -> 11 relu -> 1 linear, normal(1) weights, biases 0.01, optional course L2 (004 M6/M7)",
)
def build_dot_mlp(hp: DotMlpHParams) -> keras.Model:
    regularizer = keras.regularizers.l2(hp.l2_loss_weight / 2) if hp.l2_loss_weight else None
    def dense(units: int, activation: str | None, seed_offset: int) -> keras.layers.Dense:
        return keras.layers.Dense(
            units, activation=activation, kernel_regularizer=regularizer,
            kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=offset_seed(hp.seed, seed_offset)),
            bias_initializer=keras.initializers.Constant(0.01),
        )
    return keras.Sequential(
        [keras.Input(shape=hp.input_shape), dense(hp.hidden, "relu", 0), dense(1, None, 1)], name="dot_mlp"
    )


@register_model(
    "yogurt_linear",
    "y = x @ w, 2 -> 1 without bias, w1 = the course's tf.random.normal([2, 1], stddev=1, seed=1) (004 M4/M5)",
)
def build_yogurt_linear(hp: LinearHParams) -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=hp.input_shape),
         keras.layers.Dense(1, use_bias=False, kernel_initializer=CourseRandomNormal(stddev=1.0, seed=hp.seed))],
        name="yogurt_linear",
    )


@register_model("digits_mlp", "64 -> 30 relu -> 10 logits, normal(1) weights and biases (003)")
def build_digits_mlp(hp: DigitsMlpHParams) -> keras.Model:
    def init(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.RandomNormal(stddev=1.0, seed=offset_seed(hp.seed, offset))
    return keras.Sequential(
        [keras.Input(shape=hp.input_shape),
         keras.layers.Dense(hp.hidden, activation="relu", kernel_initializer=init(0), bias_initializer=init(1)),
         keras.layers.Dense(hp.num_classes, kernel_initializer=init(2), bias_initializer=init(3))],
        name="digits_mlp",
    )


@register_model(
    "boston_mlp",
    "13 -> 64 relu -> 64 relu -> 1: the usual small regression MLP for Boston housing (beyond the notes)",
)
def build_boston_mlp(hp: RegressionMlpHParams) -> keras.Model:
    layers = [keras.Input(shape=hp.input_shape)]
    layers += [keras.layers.Dense(units, activation="relu") for units in hp.hidden]
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name="boston_mlp")


@register_model(
    "tabular_mlp",
    "input -> hidden relu layers (dropout) -> softmax over the classes, one sigmoid unit (binary) or "
    "one linear unit (regression): the model `coursepipe init` gives a table of your own",
)
def build_tabular_mlp(hp: TabularMlpHParams) -> keras.Model:
    layers: list[keras.layers.Layer] = [keras.Input(shape=hp.input_shape)]
    for index, units in enumerate(hp.hidden):
        init = keras.initializers.GlorotUniform(seed=offset_seed(hp.seed, index))
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer=init))
        if hp.dropout:
            layers.append(keras.layers.Dropout(hp.dropout, seed=offset_seed(hp.seed, 100 + index)))
    if hp.binary:
        layers.append(keras.layers.Dense(1, activation="sigmoid"))
    elif hp.num_classes is not None:
        layers.append(keras.layers.Dense(hp.num_classes, activation="softmax"))
    else:
        layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name="tabular_mlp")
