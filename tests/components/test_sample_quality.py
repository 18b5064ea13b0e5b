"""The generator's gate metric on pictures whose relation is known: a set against itself and
against another draw of the same kind is near 0, against a shifted, a collapsed or a noise set far;
and the sample-quality Evaluator's validation follows TFMA's rules."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow_model_analysis as tfma

from components.generator_evaluator import read_gate, sample_quality_metric_config, validate
from components.metric_names import FRECHET_DISTANCE_CLASS
from components.sample_quality import classifier_score, frechet_distance, picture_distance, picture_features


def blobs(count: int, seed: int, brightness: int = 255) -> np.ndarray:
    """Grey 28x28 pictures of one bright square at a random place (a stand-in for a digit)."""
    rng = np.random.default_rng(seed)
    pictures = np.zeros((count, 28, 28), np.uint8)
    for picture, (top, left) in zip(pictures, rng.integers(4, 16, size=(count, 2)), strict=True):
        picture[top:top + 8, left:left + 8] = brightness
    return pictures


def test_features_are_8x8_block_means_per_channel():
    pictures = np.zeros((1, 16, 16, 3), np.uint8)
    pictures[0, :2, :2, 1] = 255  # the top-left 2x2 block of the green channel
    features = picture_features(pictures).reshape(8, 8, 3)
    assert features[0, 0, 1] == pytest.approx(1.0) and features.sum() == pytest.approx(1.0)
    assert picture_features(np.zeros((2, 28, 28), np.uint8)).shape == (2, 64)


def test_the_distance_orders_same_kind_shifted_collapsed_and_noise():
    real = blobs(400, seed=0)
    same_kind = picture_distance(real, blobs(400, seed=1))
    dimmer = picture_distance(real, blobs(400, seed=1, brightness=128))
    collapsed = picture_distance(real, np.repeat(blobs(1, seed=1), 400, axis=0))
    noise = picture_distance(real, np.random.default_rng(2).integers(0, 256, (400, 28, 28)).astype(np.uint8))
    assert picture_distance(real, real) == pytest.approx(0.0, abs=1e-6)
    assert same_kind < dimmer < noise
    assert same_kind < collapsed


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal(1.0, 2.0, size=(20000, 2))
    # ||mu_a - mu_b||^2 + tr(I + 4I - 2*2I) = 2 + 2
    assert frechet_distance(a, b) == pytest.approx(4.0, rel=0.05)
    with pytest.raises(ValueError, match="at least two pictures"):
        frechet_distance(a[:1], b)


def _threshold(upper: float, change: float) -> tfma.MetricThreshold:
    threshold = tfma.MetricThreshold()
    threshold.value_threshold.upper_bound.value = upper
    threshold.change_threshold.direction = tfma.MetricDirection.LOWER_IS_BETTER
    threshold.change_threshold.absolute.value = change
    return threshold


def test_validation_bounds_the_value_and_compares_with_the_baseline():
    assert validate(_threshold(1.0, 0.0), 0.5, None).validation_ok
    assert validate(_threshold(1.0, 0.0), 0.5, 0.5).validation_ok  # diff 0 <= 0
    over = validate(_threshold(1.0, 0.0), 1.5, None)
    assert not over.validation_ok
    assert over.metric_validations_per_slice[0].failures[0].message == "frechet_distance 1.5000, expected <= 1"
    worse = validate(_threshold(1.0, 0.0), 0.6, 0.5)
    assert not worse.validation_ok and "worse than the last blessed generator's 0.5000" in (
        worse.metric_validations_per_slice[0].failures[0].message)


def _eval_config(settings: dict) -> tfma.EvalConfig:
    config = tfma.EvalConfig()
    config.metrics_specs.add().metrics.add(class_name=FRECHET_DISTANCE_CLASS, config=json.dumps(settings),
                                           threshold=_threshold(1.0, 0.0))
    return config


def test_the_gate_reads_what_the_pipeline_writes_and_names_what_a_config_lacks():
    gate = read_gate(_eval_config(sample_quality_metric_config("image", 12, seed=3)))
    assert (gate.feature, gate.pictures, gate.seed) == ("image", 12, 3)
    assert gate.threshold.value_threshold.upper_bound.value == 1.0
    with pytest.raises(ValueError, match="config has no pictures, seed"):
        read_gate(_eval_config({"feature": "image"}))


def test_classifier_score_of_even_sure_one_class_and_doubtful_pictures():
    even_and_sure = np.eye(10)[np.arange(1000) % 10]
    score = classifier_score(even_and_sure)
    assert score.inception_score == pytest.approx(10.0, rel=1e-6)
    assert score.class_shares == [0.1] * 10 and score.mean_confidence == pytest.approx(1.0)
    one_class = classifier_score(np.eye(10)[np.zeros(50, int)])
    assert one_class.inception_score == pytest.approx(1.0) and one_class.class_shares[0] == 1.0
    doubtful = classifier_score(np.full((50, 10), 0.1))
    assert doubtful.inception_score == pytest.approx(1.0) and doubtful.confident_share == 0.0
