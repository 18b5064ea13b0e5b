"""The course's seeded initial values, reproduced exactly.

The course writes `w1 = tf.Variable(tf.random.normal([2, 1], stddev=1, seed=1))` in eager mode
with no global seed: TF then draws the first values of the (default graph seed, op seed 1) stream.
A Keras initializer with `seed=1` draws other numbers, so the course's figures (yogurt's
w1 = [1.0010, 0.9977] after 15,000 epochs) would not come out. `CourseRandomNormal` evaluates
the very op in a fresh graph, whose kernel starts that stream from the beginning, so the values
are the course's whatever ran before in the process.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
import tf_keras as keras


def first_draw(op: str, shape: tuple[int, ...], stddev: float, seed: int, dtype: tf.DType = tf.float32) -> np.ndarray:
    """What `tf.random.<op>(shape, stddev=stddev, seed=seed)` returns on its first eager call.

    A NumPy array, so it can seed a variable in whatever graph Keras is building.
    """
    graph = tf.Graph()
    with graph.as_default():
        value = getattr(tf.random, op)(shape, stddev=stddev, seed=seed, dtype=dtype)
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(value)


@keras.utils.register_keras_serializable(package="course")
class CourseRandomNormal(keras.initializers.Initializer):
    """`tf.random.normal(shape, stddev=stddev, seed=seed)` as the course's first eager call."""

    def __init__(self, stddev: float = 1.0, seed: int = 1) -> None:
        self.stddev, self.seed = stddev, seed

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        return first_draw("normal", tuple(shape), self.stddev, self.seed, tf.as_dtype(dtype or tf.float32))

    def get_config(self) -> dict[str, Any]:
        return {"stddev": self.stddev, "seed": self.seed}
