"""A generator's samples as pictures: tanh outputs to uint8 pixels, grids of them as PNG files, and
the Keras callback that writes a grid every N batches, as the course saved pictures while its GAN
trained (and the last grid, which `coursepipe report` shows)."""
from __future__ import annotations

import logging
import math
import os
from typing import Mapping

import numpy as np
import tensorflow as tf
import tf_keras as keras

logger = logging.getLogger(__name__)

SAMPLES_DIR = "samples"
FINAL_GRID = "samples.png"
GRID_SIDE = 8  # 8 x 8 pictures per grid


def to_pixels(images: tf.Tensor) -> tf.Tensor:
    """Generator outputs in [-1, 1] (tanh) as uint8 pixels 0..255 with a channel axis: [n, h, w, c]."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        images = images[..., tf.newaxis]
    scaled = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(scaled, 0.0, 255.0), tf.uint8)


def image_grid(images: np.ndarray, columns: int = GRID_SIDE) -> np.ndarray:
    """uint8 pictures [n, h, w, c] tiled row by row into one [rows*h, columns*w, c] picture (1 px gaps)."""
    count, height, width, channels = images.shape
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + 1) - 1, columns * (width + 1) - 1, channels), dtype=np.uint8)
    for index, image in enumerate(images):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        grid[top:top + height, left:left + width] = image
    return grid


def write_grid(path: str, images: np.ndarray) -> str:
    """Writes uint8 pictures [n, h, w, c] as one PNG grid; returns `path`."""
    from PIL import Image

    grid = image_grid(images)
    os.makedirs(os.path.dirname(path) or os.curdir, exist_ok=True)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return path


def fixed_latents(count: int, z_dim: int, seed: int = 0) -> np.ndarray:
    """The same `count` latent vectors every time (a standard normal draw from `seed`), so grids from
    one training, and from one model to the next, show the same points of the latent space."""
    return np.random.default_rng(seed).standard_normal((count, z_dim)).astype(np.float32)


class SampleGrid(keras.callbacks.Callback):
    """Writes the generator's pictures for fixed latents every `every` batches
    (`samples/step-<N>.png`) and when training ends (`samples.png` beside them)."""

    def __init__(self, directory: str, z_dim: int, every: int | None) -> None:
        super().__init__()
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
