"""Grids of generated pictures as PNG files, without TensorFlow (`coursepipe report` reads where
they are): the course saved its GAN's pictures while it trained, and so does the Trainer
(`modules.samples.SampleGrid`)."""
from __future__ import annotations

import math
import os

import numpy as np

SAMPLES_DIR = "samples"
FINAL_GRID = "samples.png"
GRID_SIDE = 8  # 8 x 8 pictures per grid


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
