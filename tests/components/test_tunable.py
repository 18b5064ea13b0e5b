"""The tunable Trainer/Evaluator fold a run's pipeline parameters into TFX's own properties."""
from __future__ import annotations

import json

import pytest
import tensorflow_model_analysis as tfma
from tfx.proto import trainer_pb2
from tfx.utils import proto_utils

from components.tunable import (
    EVAL_LOWER_BOUND,
    EVAL_UPPER_BOUND,
    TRAIN_EPOCHS,
    TRAIN_STEPS,
    RuntimeParameterError,
    with_metric_bounds,
    with_training_length,
)


def _trainer_properties(**extra):
    return {
        "custom_config": json.dumps({"training": {"epochs": 500, "steps": None, "batch_size": 32}}),
        "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs()),
        "run_fn": "modules.trainer.run_fn",
        **extra,
    }


def _evaluator_properties(**extra):
    config = tfma.EvalConfig(metrics_specs=[tfma.MetricsSpec(metrics=[
        tfma.MetricConfig(class_name="ExampleCount"),
        tfma.MetricConfig(
            class_name="SparseCategoricalAccuracy",
            threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.9})),
        ),
    ])])
    return {"eval_config": proto_utils.proto_to_json(config), "example_splits": '["eval"]', **extra}


def _eval_config(properties):
    config = tfma.EvalConfig()
    proto_utils.json_to_proto(properties["eval_config"], config)
    return config


def test_epochs_replace_the_configured_epochs_and_leave_the_parameter_out():
    properties = with_training_length(_trainer_properties(**{TRAIN_EPOCHS: 7}))
    assert json.loads(properties["custom_config"])["training"]["epochs"] == 7
    assert TRAIN_EPOCHS not in properties and properties["run_fn"] == "modules.trainer.run_fn"


def test_steps_go_into_train_args_and_the_config():
    properties = with_training_length(_trainer_properties(**{TRAIN_STEPS: 40.0}))  # KFP numbers arrive as floats
    train_args = trainer_pb2.TrainArgs()
    proto_utils.json_to_proto(properties["train_args"], train_args)
    assert train_args.num_steps == 40 and json.loads(properties["custom_config"])["training"]["steps"] == 40


def test_without_parameters_the_compiled_values_stay():
    original = _trainer_properties()
    assert with_training_length(original) == original
    assert with_metric_bounds(_evaluator_properties()) == _evaluator_properties()


@pytest.mark.parametrize("value", [0, -3, 2.5, "ten", True])
def test_a_training_length_that_is_not_a_positive_whole_number_is_rejected_by_name(value):
    with pytest.raises(RuntimeParameterError, match=f"pipeline parameter {TRAIN_EPOCHS}: expected a whole number"):
        with_training_length(_trainer_properties(**{TRAIN_EPOCHS: value}))


def test_bounds_land_on_the_gated_metric_only():
    properties = with_metric_bounds(_evaluator_properties(**{EVAL_LOWER_BOUND: 0.97, EVAL_UPPER_BOUND: 1.0}))
    count, accuracy = _eval_config(properties).metrics_specs[0].metrics
    assert accuracy.threshold.value_threshold.lower_bound.value == pytest.approx(0.97)
    assert accuracy.threshold.value_threshold.upper_bound.value == pytest.approx(1.0)
    assert not count.HasField("threshold")
    assert EVAL_LOWER_BOUND not in properties and EVAL_UPPER_BOUND not in properties


def test_a_bound_without_a_gated_metric_or_not_a_number_is_an_error():
    ungated = _evaluator_properties()
    ungated["eval_config"] = proto_utils.proto_to_json(tfma.EvalConfig())
    with pytest.raises(RuntimeParameterError, match="no metric with a value threshold"):
        with_metric_bounds({**ungated, EVAL_LOWER_BOUND: 0.5})
    with pytest.raises(RuntimeParameterError, match=f"{EVAL_LOWER_BOUND}: expected a number, got 'high'"):
        with_metric_bounds(_evaluator_properties(**{EVAL_LOWER_BOUND: "high"}))


def test_with_slices_a_run_bound_lands_on_the_overall_slice_not_on_the_slices(iris_spec):
    from pipelines.factory import eval_config
    from tests.conftest import spec_with

    sliced = eval_config(spec_with(iris_spec, evaluation={"slices": [{"by": "label", "lower_bound": 0.8}]}))
    properties = {"eval_config": proto_utils.proto_to_json(sliced), EVAL_LOWER_BOUND: 0.97}
    (gated,) = [m for m in _eval_config(with_metric_bounds(properties)).metrics_specs[0].metrics
                if m.class_name == "SparseCategoricalAccuracy"]
    overall, per_class = gated.per_slice_thresholds
    assert overall.threshold.value_threshold.lower_bound.value == pytest.approx(0.97)
    assert per_class.threshold.value_threshold.lower_bound.value == pytest.approx(0.8)
