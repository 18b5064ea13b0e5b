"""Builders of the course's tabular models (course-models.md, "Tabular and toy models")."""
from __future__ import annotations

import tf_keras as keras
from pydantic import NonNegativeFloat, PositiveInt

from modules.registry import HParams, register_model


class SoftmaxClassifierHParams(HParams):
    num_classes: PositiveInt = 3
    l2: NonNegativeFloat = 0.01  # the default of the course's `tf.keras.regularizers.l2()`


@register_model(
    "iris_softmax",
    SoftmaxClassifierHParams,
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
