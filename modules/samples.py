"""A generator's samples as pictures: tanh outputs to uint8 pixels, and the Keras callback that
writes a grid of them every N batches and when training ends (`modules.sample_grids`)."""
from __future__ import annotations

import logging
import os
from typing import Mapping

import numpy as np
import tensorflow as tf
import tf_keras as keras

from modules.sample_grids import FINAL_GRID, GRID_SIDE, SAMPLES_DIR, fixed_latents, write_grid

logger = logging.getLogger(__name__)


def to_pixels(images: tf.Tensor) -> tf.Tensor:
    """Generator outputs in [-1, 1] (tanh) as uint8 pixels 0..255 with a channel axis: [n, h, w, c]."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        images = images[..., tf.newaxis]
    scaled = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)


class SampleGrid(keras.callbacks.Callback):
    """Writes the generator's pictures for fixed latents every `every` batches
    (`samples/step-<N>.png`) and when training ends (`samples.png` beside them)."""

    def __init__(self, directory: str, z_dim: int, every: int | None) -> None:
        super().__init__()
        self._supports_tf_logs = True  # it reads no logs: Keras need not convert each batch's to NumPy
        self._directory, self._every = directory, every
        self._latents = fixed_latents(GRID_SIDE * GRID_SIDE, z_dim)
        self._step = 0

    def _pixels(self) -> np.ndarray:
        return to_pixels(self.model.generator(self._latents, training=False)).numpy()

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._step += 1
        if self._every and self._step % self._every == 0:
            write_grid(os.path.join(self._directory, SAMPLES_DIR, f"step-{self._step:07d}.png"), self._pixels())

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        path = write_grid(os.path.join(self._directory, FINAL_GRID), self._pixels())
        logger.info("samples after %d batches: %s", self._step, path)
