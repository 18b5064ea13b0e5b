"""How close a generator's pictures are to real ones: the Fréchet distance between the two sets'
features, where a feature is the picture downsampled to 8x8 pixels per channel.

Why this metric: TFMA's accuracy-like metrics need a label a generator does not have, and the
usual Fréchet Inception Distance needs Inception's ImageNet weights, which would be a download.
Downsampled pixels are a fixed feature map that nothing in the pipeline trains, so the figure of
one generator compares with the next one's and with the bound in the spec. The distance fits a
Gaussian to each set of features and compares means and covariances:

    d = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

It catches a generator that misses the pictures' layout (the mean) and one that collapses onto a
few pictures or blurs them (the covariance). tests/components/test_sample_quality.py shows the
order it gives: held-out real pictures < a trained generator's < an untrained generator's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURE_SIDE = 8


def picture_features(pixels: np.ndarray) -> np.ndarray:
    """uint8 pictures [n, h, w] or [n, h, w, c] -> [n, 8*8*c] features in [0, 1]: each picture
    area-averaged to 8x8 pixels (a block mean; sides not divisible by 8 share border pixels)."""
    images = np.asarray(pixels, dtype=np.float64) / 255.0
    if images.ndim == 3:
        images = images[..., np.newaxis]
    count, height, width, channels = images.shape
    rows = np.linspace(0, height, FEATURE_SIDE + 1)
    cols = np.linspace(0, width, FEATURE_SIDE + 1)
    blocks = np.empty((count, FEATURE_SIDE, FEATURE_SIDE, channels))
    for i in range(FEATURE_SIDE):
        top, bottom = int(np.floor(rows[i])), max(int(np.ceil(rows[i + 1])), int(np.floor(rows[i])) + 1)
        for j in range(FEATURE_SIDE):
            left, right = int(np.floor(cols[j])), max(int(np.ceil(cols[j + 1])), int(np.floor(cols[j])) + 1)
            blocks[:, i, j, :] = images[:, top:bottom, left:right, :].mean(axis=(1, 2))
    return blocks.reshape(count, -1)


def frechet_distance(real_features: np.ndarray, generated_features: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors [n, d]."""
    from scipy import linalg  # the CLI imports this module for the metric's name; scipy takes a while

    if len(real_features) < 2 or len(generated_features) < 2:
        raise ValueError("the Fréchet distance needs at least two pictures on each side")
    mean_real, mean_generated = real_features.mean(axis=0), generated_features.mean(axis=0)
    cov_real = np.atleast_2d(np.cov(real_features, rowvar=False))
    cov_generated = np.atleast_2d(np.cov(generated_features, rowvar=False))
    with np.errstate(invalid="ignore", divide="ignore"):  # scipy's error estimate divides by ||A|| (0 when collapsed)
        root, _ = linalg.sqrtm(cov_real @ cov_generated, disp=False)
    if not np.isfinite(root).all():  # singular products (few pictures): nudge both diagonals
        offset = np.eye(cov_real.shape[0]) * 1e-6
        root = linalg.sqrtm((cov_real + offset) @ (cov_generated + offset))
    trace = np.trace(cov_real) + np.trace(cov_generated) - 2.0 * np.trace(np.real(root))
    return float(np.sum((mean_real - mean_generated) ** 2) + max(trace, 0.0))


@dataclass(frozen=True)
class ClassifierScore:
    """What a classifier makes of generated pictures: how the classes are shared, how sure it is,
    and the Inception Score's formula on its probabilities (exp of the mean KL divergence between
    each picture's class distribution and the overall one: 1 for one class or pure doubt, the
    number of classes for confident pictures spread evenly over all of them)."""

    class_shares: list[float]
    mean_confidence: float
    confident_share: float  # pictures whose most probable class has probability >= 0.9
    inception_score: float


def classifier_score(probabilities: np.ndarray) -> ClassifierScore:
    """`ClassifierScore` of class probabilities [n, classes] (rows summing to 1)."""
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    marginal = probabilities.mean(axis=0)
    divergence = (probabilities * (np.log(probabilities) - np.log(marginal))).sum(axis=1).mean()
    predicted = probabilities.argmax(axis=1)
    shares = np.bincount(predicted, minlength=probabilities.shape[1]) / len(probabilities)
    confidence = probabilities.max(axis=1)
    return ClassifierScore([round(float(v), 4) for v in shares], float(confidence.mean()),
                           float((confidence >= 0.9).mean()), float(np.exp(divergence)))


def picture_distance(real_pixels: np.ndarray, generated_pixels: np.ndarray) -> float:
    """`frechet_distance` of two sets of uint8 pictures, on `picture_features`."""
    return frechet_distance(picture_features(real_pixels), picture_features(generated_pixels))
