"""A Trainer and an Evaluator whose training length and metric bound are pipeline parameters.

Kubeflow users change how long a model trains and what blesses it per run, from the KFP UI or
`coursepipe submit --param`, without recompiling. TFX 1.16's Kubeflow V2 compiler cannot do that
with the stock components: `TrainArgs` and `EvalConfig` are protos, and a `RuntimeParameter`
inside a proto is written into the compiled JSON as a constant string, with no pipeline input.
So these components add primitive execution parameters (`train_epochs` or `train_steps`,
`eval_lower_bound` / `eval_upper_bound`), which the compiler turns into pipeline inputs, and their
executors fold the values into `custom_config` / `train_args` / `eval_config` before running
TFX's own executor. Local runs keep the stock components (the spec's values are constants there).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Mapping

import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.components.trainer import executor as trainer_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.orchestration import data_types
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts
from tfx.types.component_spec import ExecutionParameter
from tfx.types.standard_component_specs import (
    BLESSING_KEY,
    CUSTOM_CONFIG_KEY,
    EVAL_CONFIG_KEY,
    EVALUATION_KEY,
    EXAMPLE_SPLITS_KEY,
    MODEL_KEY,
    MODEL_RUN_KEY,
    TRAIN_ARGS_KEY,
    EvaluatorSpec,
    TrainerSpec,
)
from tfx.utils import json_utils, proto_utils

logger = logging.getLogger(__name__)

TRAIN_EPOCHS = "train_epochs"
TRAIN_STEPS = "train_steps"
EVAL_LOWER_BOUND = "eval_lower_bound"
EVAL_UPPER_BOUND = "eval_upper_bound"

# A parameter's value: a constant, or a RuntimeParameter the orchestrator fills in per run.
Tunable = int | float | data_types.RuntimeParameter | None


class RuntimeParameterError(ValueError):
    """A run's parameter value the step cannot use (named, with what was expected)."""


def _whole_number(name: str, value: Any) -> int:
    # KFP hands numbers over as JSON numbers (floats): 500.0 is 500, 2.5 is an error.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        raise RuntimeParameterError(f"pipeline parameter {name}: expected a whole number >= 1, got {value!r}")
    return int(value)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuntimeParameterError(f"pipeline parameter {name}: expected a number, got {value!r}")
    return float(value)


def with_training_length(exec_properties: Mapping[str, Any]) -> dict[str, Any]:
    """The Trainer's execution properties with `train_epochs` / `train_steps` folded in.

    Epochs go into `custom_config.training.epochs` (what `modules.trainer.run_fn` reads); steps
    into `train_args.num_steps` (what TFX hands `run_fn` as `fn_args.train_steps`) and the
    config's `training.steps`. Absent parameters leave the compiled values.
    """
    properties = dict(exec_properties)
    epochs = properties.pop(TRAIN_EPOCHS, None)
    steps = properties.pop(TRAIN_STEPS, None)
    if epochs is None and steps is None:
        return properties
    config = json.loads(properties[CUSTOM_CONFIG_KEY])
    if epochs is not None:
        config["training"]["epochs"] = _whole_number(TRAIN_EPOCHS, epochs)
    if steps is not None:
        config["training"]["steps"] = _whole_number(TRAIN_STEPS, steps)
        train_args = trainer_pb2.TrainArgs()
        proto_utils.json_to_proto(properties[TRAIN_ARGS_KEY], train_args)
        train_args.num_steps = config["training"]["steps"]
        properties[TRAIN_ARGS_KEY] = proto_utils.proto_to_json(train_args)
    properties[CUSTOM_CONFIG_KEY] = json.dumps(config)
    logger.info("Training length from the run's parameters: epochs %s, steps %s",
                config["training"].get("epochs"), config["training"].get("steps"))
    return properties


def with_metric_bounds(exec_properties: Mapping[str, Any]) -> dict[str, Any]:
    """The Evaluator's execution properties with `eval_lower_bound` / `eval_upper_bound` set on
    every metric of `eval_config` that has a value threshold (the spec's gated metric)."""
    properties = dict(exec_properties)
    bounds = {
        "lower_bound": properties.pop(EVAL_LOWER_BOUND, None),
        "upper_bound": properties.pop(EVAL_UPPER_BOUND, None),
    }
    if all(value is None for value in bounds.values()):
        return properties
    eval_config = tfma.EvalConfig()
    proto_utils.json_to_proto(properties[EVAL_CONFIG_KEY], eval_config)
    # The gated metric's overall bound: its `threshold`, or, when the spec slices, its threshold
    # on the overall slice (an empty SlicingSpec); the slices' own bounds stay as compiled.
    gated = [
        threshold
        for metrics_spec in eval_config.metrics_specs
        for metric in metrics_spec.metrics
        for threshold in [metric.threshold] + [
            per_slice.threshold for per_slice in metric.per_slice_thresholds
            if any(not spec.ListFields() for spec in per_slice.slicing_specs)
        ]
        if threshold.HasField("value_threshold")
    ]
    if not gated:
        raise RuntimeParameterError("eval_config has no metric with a value threshold to set a bound on")
    for threshold in gated:
        for field_name, parameter in (("lower_bound", EVAL_LOWER_BOUND), ("upper_bound", EVAL_UPPER_BOUND)):
            if bounds[field_name] is not None:
                bound = getattr(threshold.value_threshold, field_name)
                bound.value = _number(parameter, bounds[field_name])
        logger.info("Blessing bound from the run's parameters: %s", threshold.value_threshold)
    properties[EVAL_CONFIG_KEY] = proto_utils.proto_to_json(eval_config)
    return properties


class TunableTrainerExecutor(trainer_executor.GenericExecutor):
    """TFX's GenericExecutor, after folding the run's training length into its properties."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        super().Do(input_dict, output_dict, with_training_length(exec_properties))


class TunableEvaluatorExecutor(evaluator_executor.Executor):
    """TFX's Evaluator executor, after folding the run's metric bounds into `eval_config`."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        super().Do(input_dict, output_dict, with_metric_bounds(exec_properties))


class TunableTrainerSpec(TrainerSpec):
    PARAMETERS = {
        **TrainerSpec.PARAMETERS,
        TRAIN_EPOCHS: ExecutionParameter(type=int, optional=True),
        TRAIN_STEPS: ExecutionParameter(type=int, optional=True),
    }


class TunableEvaluatorSpec(EvaluatorSpec):
    PARAMETERS = {
        **EvaluatorSpec.PARAMETERS,
        EVAL_LOWER_BOUND: ExecutionParameter(type=float, optional=True),
        EVAL_UPPER_BOUND: ExecutionParameter(type=float, optional=True),
    }


class TunableTrainer(base_component.BaseComponent):
    """TFX's Trainer (GenericExecutor, `run_fn`) plus `train_epochs` / `train_steps`."""

    SPEC_CLASS = TunableTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TunableTrainerExecutor)

    def __init__(
        self,
        *,
        examples: types.BaseChannel,
        transform_graph: types.BaseChannel,
        schema: types.BaseChannel,
        run_fn: str,
        train_args: trainer_pb2.TrainArgs,
        eval_args: trainer_pb2.EvalArgs,
        custom_config: dict[str, Any],
        base_model: types.BaseChannel | None = None,
        hyperparameters: types.BaseChannel | None = None,
        train_epochs: Tunable = None,
        train_steps: Tunable = None,
    ) -> None:
        super().__init__(
            spec=TunableTrainerSpec(
                examples=examples,
                base_model=base_model,
                hyperparameters=hyperparameters,
                transform_graph=transform_graph,
                schema=schema,
                run_fn=run_fn,
                train_args=train_args,
                eval_args=eval_args,
                custom_config=json_utils.dumps(custom_config),
                train_epochs=train_epochs,
                train_steps=train_steps,
                **{MODEL_KEY: types.Channel(type=standard_artifacts.Model),
                   MODEL_RUN_KEY: types.Channel(type=standard_artifacts.ModelRun)},
            )
        )


class TunableEvaluator(base_component.BaseComponent):
    """TFX's Evaluator (TFMA, blessing against the baseline) plus `eval_lower_bound` /
    `eval_upper_bound`."""

    SPEC_CLASS = TunableEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(TunableEvaluatorExecutor)

    def __init__(
        self,
        *,
        examples: types.BaseChannel,
        model: types.BaseChannel,
        baseline_model: types.BaseChannel,
        example_splits: list[str],
        eval_config: tfma.EvalConfig,
        eval_lower_bound: Tunable = None,
        eval_upper_bound: Tunable = None,
    ) -> None:
        super().__init__(
            spec=TunableEvaluatorSpec(
                examples=examples,
                model=model,
                baseline_model=baseline_model,
                eval_config=eval_config,
                eval_lower_bound=eval_lower_bound,
                eval_upper_bound=eval_upper_bound,
                **{EXAMPLE_SPLITS_KEY: json_utils.dumps(example_splits),
                   EVALUATION_KEY: types.Channel(type=standard_artifacts.ModelEvaluation),
                   BLESSING_KEY: types.Channel(type=standard_artifacts.ModelBlessing)},
            )
        )
