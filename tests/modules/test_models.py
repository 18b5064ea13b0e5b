"""Builders, parametrized over the whole registry: shape, dtype, course parameter counts, a step."""
from __future__ import annotations

import numpy as np
import pytest

from modules.config import TrainingConfig
from modules.registry import build_model, registered_names, resolve_model
from modules.testing import build_and_step, parameter_count

# Parameter counts the course prints in its model.summary(), per registry name.
COURSE_PARAMETER_COUNTS = {"iris_softmax": 15}
# Hyperparameters to build each registered model for the tests (the shipped specs' values).
TEST_HPARAMS = {"iris_softmax": {"input_shape": [4]}}
TRAINING = TrainingConfig(epochs=1, optimizer={"name": "sgd", "learning_rate": 0.1},
                          loss="sparse_categorical_crossentropy")


def test_every_registered_model_has_test_hparams():
    assert set(registered_names()) == set(TEST_HPARAMS)


@pytest.mark.parametrize("name", registered_names())
def test_output_shape_dtype_and_one_step_moves_the_weights(name):
    hparams = TEST_HPARAMS[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, *hparams["input_shape"])).astype("float32")
    num_classes = resolve_model(name).hparams_class.model_validate(hparams).num_classes
    y = rng.integers(0, num_classes, size=(8,))
    result = build_and_step(name, hparams, x, y, TRAINING)
    assert result.outputs.shape == (8, num_classes)
    assert result.outputs.dtype == np.float32
    np.testing.assert_allclose(result.outputs.sum(axis=1), 1.0, rtol=1e-5)  # softmax
    assert result.weights_changed


@pytest.mark.parametrize("name", sorted(COURSE_PARAMETER_COUNTS))
def test_parameter_count_matches_the_course(name):
    assert parameter_count(build_model(name, TEST_HPARAMS[name])) == COURSE_PARAMETER_COUNTS[name]


def test_unknown_model_lists_the_registered_ones():
    with pytest.raises(KeyError, match="expected one of: iris_softmax"):
        resolve_model("lenet6")


def test_user_builder_by_dotted_path_builds():
    model = build_model("tests.modules.user_models:tiny", {"input_shape": [2], "units": 5})
    assert model.output_shape == (None, 5)
