"""Slow tier: the registered iris model, trained as the course trains it, reaches the course's figures.

The course's own run printed train accuracy 0.9667 and val accuracy 1.0, but those depend on the
random init (docs/design.md: over 21 seeds, val accuracy median 0.967, range 0.767-1.0), so the test
compares medians over seeds with that band, not one run with one number.
"""
from __future__ import annotations

import statistics

import numpy as np
import pytest
import tf_keras as keras
from sklearn.datasets import load_iris

from modules.fitting import compile_model
from modules.registry import build_model
from pipelines.spec.pipeline_spec import load_spec

SEEDS = (1, 2, 3, 4, 5)


@pytest.mark.slow
def test_iris_softmax_matches_the_course_over_seeds():
    spec = load_spec("iris_softmax")
    x, y = load_iris(return_X_y=True)
    np.random.seed(116)
    np.random.shuffle(x)
    np.random.seed(116)
    np.random.shuffle(y)
    train_accuracies, val_accuracies = [], []
    for seed in SEEDS:
        keras.utils.set_random_seed(seed)
        model = build_model(spec.model.name, spec.model.hparams)
        compile_model(model, spec.training)
        history = model.fit(x, y, batch_size=spec.training.batch_size, epochs=spec.training.epochs,
                            validation_split=0.2, validation_freq=spec.training.validation_freq, verbose=0)
        train_accuracies.append(history.history["sparse_categorical_accuracy"][-1])
        val_accuracies.append(history.history["val_sparse_categorical_accuracy"][-1])
    assert 0.825 <= statistics.median(train_accuracies) <= 1.0, train_accuracies
    assert 0.9 <= statistics.median(val_accuracies) <= 1.0, val_accuracies
