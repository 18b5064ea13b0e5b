"""`create_pipeline`: one spec -> one orchestrator-agnostic `Pipeline`.

ExampleGen -> StatisticsGen -> SchemaGen (or ImportSchemaGen of a curated schema) ->
ExampleValidator (schema, drift vs the previous span, skew vs serving data; fails the run on
anomalies, before Transform) -> Transform -> Trainer -> Evaluator (thresholds, baseline = latest
blessed model) -> Pusher (blessed models only).
Modules are named by dotted path (`modules.trainer.run_fn`), never by `module_file`, which would
be copied into the pipeline root at compile time and break compiling for a remote root
(docs/design.md, "Dotted paths, not module_file").
"""
from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import apache_beam as beam
import tensorflow_model_analysis as tfma
from ml_metadata.proto import metadata_store_pb2
from tfx.components import Evaluator, SchemaGen, StatisticsGen, Trainer, Transform
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base.base_node import BaseNode
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.orchestration.data_types import RuntimeParameter
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import pusher_pb2, trainer_pb2
from tfx.types import standard_artifacts
from tfx.types.channel import BaseChannel, Channel

from components.example_gen import course_example_gen
from components.generator_evaluator import SampleQualityEvaluator, sample_quality_metric_config
from components.pusher import CoursePusher
from components.resolvers import (
    BLESSING_KEY,
    CANDIDATE_KEY,
    CURRENT_KEY,
    MODEL_KEY,
    STATISTICS_KEY,
    LatestBlessedOtherModelStrategy,
    PreviousSpanStatisticsStrategy,
)
from components.sources import DOTTED_PATH, DataLocation, declared_location, get_source
from components.splits import EVAL_SPLIT
from components.tunable import (
    EVAL_LOWER_BOUND,
    EVAL_UPPER_BOUND,
    TRAIN_EPOCHS,
    TRAIN_STEPS,
    TunableEvaluator,
    TunableTrainer,
)
from components.validation.component import CourseExampleValidator, gate_config
from components.validation.schemas import schema_path
from modules.export import OUTPUT_KEY, RECONSTRUCTION_LOSS_KEY
from modules.preprocessing import make_transform_custom_config
from modules.spec_sections import GAN_STYLES, TUNING_KEY, TrainingConfig
from modules.trainer import make_trainer_custom_config
from pipelines.names import (
    BASELINE_RESOLVER_ID,
    EVAL_METRICS,
    EVALUATOR_ID,
    EXAMPLE_GEN_ID,
    EXAMPLE_VALIDATOR_ID,
    LABEL_SLICE,
    PREPROCESSING_FN,
    PREVIOUS_STATISTICS_RESOLVER_ID,
    PUSHER_ID,
    RUN_FN,
    TRAINER_ID,
    TRANSFORM_ID,
    TUNER_FN,
    TUNER_ID,
    WARM_START_RESOLVER_ID,
)
from pipelines.runs.code_fingerprint import CODE_FINGERPRINT_KEY, code_fingerprint, entry_module
from pipelines.spec.pipeline_spec import EvaluationConfig, PipelineSpec, SliceConfig

if TYPE_CHECKING:
    from tfx.components import Tuner

logger = logging.getLogger(__name__)

# Beam flags naming the software of remote workers (TFX's dependency_utils checks the same ones).
BEAM_DEPENDENCY_FLAGS = (
    "--extra_package", "--extra_packages", "--setup_file", "--requirements_file",
    "--sdk_container_image", "--worker_harness_container_image",
)


@dataclass(frozen=True)
class PipelinePlacement:
    """Where a pipeline's artifacts, metadata and pushed models live for one orchestrator."""

    pipeline_root: str
    serving_dir: str
    # Where ExampleGen reads; default: the spec's data.path, or the source's default location.
    data: DataLocation | None = None
    metadata_connection_config: metadata_store_pb2.ConnectionConfig | None = None
    beam_pipeline_args: list[str] = field(default_factory=list)
    # Resolvers with this project's strategies (baseline: not the candidate itself; drift: the
    # previous span's statistics): local runs and open-source KFP pods, which run TFX's launcher;
    # TFX's Kubeflow v2 compiler (Vertex) accepts only the stock ones.
    custom_resolvers: bool = False
    # Default: the spec's id; Kubeflow needs one matching [a-z0-9][a-z0-9-]*.
    pipeline_name: str | None = None
    # Where ImportSchemaGen finds the shipped schemas (default: this installation's); on Kubeflow,
    # the image's copy.
    schemas_dir: str | None = None
    # The training length and the metric bound as pipeline parameters a run can override
    # (both Kubeflow targets); locally they are the spec's constants.
    runtime_parameters: bool = False
    # False: every component executes, whatever ML Metadata holds (`coursepipe run --no-cache`).
    enable_cache: bool = True


def beam_args_for_local_workers(args: list[str]) -> list[str]:
    """`args`, plus the Beam SDK image when they name no worker software.

    Without one of those flags every TFX Beam executor (StatisticsGen, Transform, Evaluator)
    builds a source package of TFX for remote workers before it runs: 1.7 s each here, and each
    leaves a 49 MB copy of TFX in a temporary directory that nothing removes. Local runs use
    the in-process FnApiRunner and Kubeflow steps run Beam inside the project's image, so no
    worker needs the package; the image named is Beam's own SDK image for this Python and Beam,
    what a portable runner would start.
    """
    if any(arg.split("=", 1)[0] in BEAM_DEPENDENCY_FLAGS for arg in args):
        return list(args)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [*args, f"--sdk_container_image=apache/beam_python{python}_sdk:{beam.__version__}"]


def training_length_parameters(training: TrainingConfig) -> dict[str, RuntimeParameter]:
    """`train_epochs` or `train_steps` (whichever the spec counts in), defaulting to the spec's."""
    name, value = (TRAIN_EPOCHS, training.epochs) if training.epochs is not None else (TRAIN_STEPS, training.steps)
    unit = name.removeprefix("train_")
    return {name: RuntimeParameter(name=name, ptype=int, default=value,
                                   description=f"{unit} the Trainer runs (the spec's: {value})")}


def metric_bound_parameters(evaluation: EvaluationConfig) -> dict[str, RuntimeParameter]:
    """`eval_lower_bound` / `eval_upper_bound` for the bounds the spec sets on its metric."""
    bounds = {EVAL_LOWER_BOUND: evaluation.lower_bound, EVAL_UPPER_BOUND: evaluation.upper_bound}
    return {
        name: RuntimeParameter(name=name, ptype=float, default=float(value),
                               description=f"{name.removeprefix('eval_').replace('_', ' ')} on "
                               f"{evaluation.metric} that blesses a model (the spec's: {value})")
        for name, value in bounds.items()
        if value is not None
    }


def source_code_fingerprint(source: str) -> str | None:
    """The fingerprint of a user's data source module (`package.module:name`); None for the
    course's sources, whose code ships with the project."""
    return code_fingerprint([entry_module(source)]) if DOTTED_PATH.match(source) else None


def trainer_code(spec: PipelineSpec) -> list[str]:
    """The modules whose code the Trainer runs: `run_fn`'s (with every registered builder) and a
    user's model module named by dotted path."""
    entries = [entry_module(RUN_FN)]
    if ":" in spec.model.name:
        entries.append(entry_module(spec.model.name))
    return entries


def slicing_spec(config: SliceConfig, label: str) -> tfma.SlicingSpec:
    """TFMA's slices of one `evaluation.slices` entry: per class (the label's values), per feature
    value, or per interval of a numeric feature (`buckets`, as TFMA's SQL slice keys)."""
    if config.buckets:
        return tfma.SlicingSpec(slice_keys_sql=bucket_sql(config.by, config.buckets))
    return tfma.SlicingSpec(feature_keys=[label if config.by == LABEL_SLICE else config.by])


def threshold_slicing_spec(config: SliceConfig, label: str) -> tfma.SlicingSpec:
    """The slices a per-slice bound applies to. TFMA matches a threshold's slicing spec against the
    slice keys by column, and cannot match a SQL spec (it would apply to the overall slice only);
    the bucket slices' key column is the feature's name, so a feature-keys spec matches them."""
    return tfma.SlicingSpec(feature_keys=[label if config.by == LABEL_SLICE else config.by])


def bucket_names(boundaries: Sequence[float]) -> list[str]:
    """`< 0.5`, `[0.5, 1.5)`, `>= 1.5`: the slices of `boundaries`, in order."""
    inner = [f"[{low:g}, {high:g})" for low, high in zip(boundaries, boundaries[1:], strict=False)]
    return [f"< {boundaries[0]:g}", *inner, f">= {boundaries[-1]:g}"]


def bucket_sql(feature: str, boundaries: Sequence[float]) -> str:
    """TFMA's SQL slice key (tfx_bsl's ZetaSQL over each example) naming the interval of `feature`."""
    names = bucket_names(boundaries)
    cases = " ".join(f'WHEN value < {bound!r} THEN "{name}"' for bound, name in zip(boundaries, names, strict=False))
    # TFMA wraps it: SELECT ARRAY(<this>) AS slice_key FROM Examples AS example.
    return f'SELECT STRUCT(CASE {cases} ELSE "{names[-1]}" END AS {feature}) FROM example.{feature} AS value'


def _value_threshold(lower: float | None, upper: float | None) -> tfma.GenericValueThreshold:
    threshold = tfma.GenericValueThreshold()
    if lower is not None:
        threshold.lower_bound.value = lower
    if upper is not None:
        threshold.upper_bound.value = upper
    return threshold


def gate_threshold(evaluation: EvaluationConfig) -> tfma.MetricThreshold:
    """The spec's bound on its metric and no regression against the baseline beyond `change_threshold`."""
    direction = (
        tfma.MetricDirection.HIGHER_IS_BETTER if EVAL_METRICS[evaluation.metric].higher_is_better
        else tfma.MetricDirection.LOWER_IS_BETTER
    )
    return tfma.MetricThreshold(
        value_threshold=_value_threshold(evaluation.lower_bound, evaluation.upper_bound),
        change_threshold=tfma.GenericChangeThreshold(
            direction=direction, absolute={"value": evaluation.change_threshold}
        ),
    )


def generator_eval_config(spec: PipelineSpec) -> tfma.EvalConfig:
    """A generator's gate (components.generator_evaluator): the Fréchet distance of its pictures
    to the eval split's, bounded, and no worse than the last blessed generator's."""
    metric = tfma.MetricConfig(
        class_name=EVAL_METRICS[spec.evaluation.metric].tfma_class,
        config=json.dumps(sample_quality_metric_config(spec.data.feature_set().features[0], spec.evaluation.pictures)),
        threshold=gate_threshold(spec.evaluation),
    )
    return tfma.EvalConfig(model_specs=[tfma.ModelSpec(signature_name="serving_default")],
                           slicing_specs=[tfma.SlicingSpec()], metrics_specs=[tfma.MetricsSpec(metrics=[metric])])


def eval_config(spec: PipelineSpec) -> tfma.EvalConfig:
    """TFMA config: the spec's metric with its bound, no regression against the baseline, and the
    spec's slices (each slice's own bound on the metric, where given)."""
    if spec.training.style in GAN_STYLES:
        return generator_eval_config(spec)
    features = spec.data.feature_set()
    label = features.label
    evaluation = spec.evaluation
    class_name = EVAL_METRICS[evaluation.metric].tfma_class
    reconstructs = spec.training.target == "input"
    threshold = gate_threshold(evaluation)
    slices = [slicing_spec(config, label) for config in evaluation.slices]
    gated_metric = tfma.MetricConfig(
        class_name=class_name,
        # MeanPrediction reports as the spec's name (reconstruction_loss).
        config=json.dumps({"name": evaluation.metric}) if reconstructs else "",
    )
    if not slices:
        gated_metric.threshold.CopyFrom(threshold)
    else:
        # TFMA applies `threshold` to every slice; the overall bound and the baseline comparison
        # stay on the overall slice, each slice gets its own bound.
        gated_metric.per_slice_thresholds.append(
            tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold))
        for config in evaluation.slices:
            if config.lower_bound is not None or config.upper_bound is not None:
                gated_metric.per_slice_thresholds.append(tfma.PerSliceMetricThreshold(
                    slicing_specs=[threshold_slicing_spec(config, label)],
                    threshold=tfma.MetricThreshold(
                        value_threshold=_value_threshold(config.lower_bound, config.upper_bound)),
                ))
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=label,
                # An autoencoder's label is not scored: the Evaluator averages its loss output. A
                # model serving class names scores its numeric outputs.
                prediction_key=RECONSTRUCTION_LOSS_KEY if reconstructs else OUTPUT_KEY if features.class_names else "",
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec(), *slices],
        # Only the spec's metrics: the model's compiled loss and metrics score its training target
        # (one-hot, scaled, the input itself), which TFMA would compare with the raw label (and fail
        # on shapes, e.g. 100 logits against one class index).
        options=tfma.Options(include_default_metrics={"value": False}),
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    gated_metric,
                    *(tfma.MetricConfig(class_name=EVAL_METRICS[name].tfma_class) for name in evaluation.report),
                ]
            )
        ],
    )


def create_pipeline(spec: PipelineSpec, placement: PipelinePlacement) -> Pipeline:
    """Builds the eight-component pipeline that `spec` declares."""
    source = get_source(spec.data.source)
    features = spec.data.feature_set()
    label = features.label

    example_gen = course_example_gen(
        source.id,
        placement.data or declared_location(source, spec.data.path),
        spec.data.options,
        spec.data.split or source.default_split,
        code_fingerprint=source_code_fingerprint(spec.data.source),
    ).with_id(EXAMPLE_GEN_ID)
    schema_gen, statistics_gen = _schema_and_statistics(spec, placement, example_gen)
    previous_statistics = _previous_statistics_resolver(spec, placement, statistics_gen)
    example_validator = CourseExampleValidator(
        statistics=statistics_gen.outputs["statistics"],
        schema=schema_gen.outputs["schema"],
        validation_config=gate_config(
            label, source.id, dict(spec.data.options), spec.validation.warn_on,
            spec.validation.drift, spec.validation.skew,
        ),
        previous_statistics=previous_statistics.outputs["statistics"] if previous_statistics is not None else None,
    ).with_id(EXAMPLE_VALIDATOR_ID)
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        materialize=spec.transform.materialize,
        disable_statistics=not spec.transform.statistics,
        # The updated analyzer cache only pays when a later run feeds it back (the `analyzer_cache`
        # input, for analyzers over many spans); nothing here does, so writing it is pure cost.
        disable_analyzer_cache=True,
        custom_config={**make_transform_custom_config(spec.transform, features),
                       CODE_FINGERPRINT_KEY: code_fingerprint([entry_module(PREPROCESSING_FN)])},
    ).with_id(TRANSFORM_ID)
    # The gate: nothing is transformed, trained or pushed until the data passed validation.
    transform.add_upstream_node(example_validator)
    warm_start_resolver = _warm_start_resolver(spec)
    trainer_custom_config = {**make_trainer_custom_config(spec.transform, spec.model, spec.training, label,
                                                          features.class_names),
                             CODE_FINGERPRINT_KEY: code_fingerprint(trainer_code(spec))}
    # Transformed examples, or (not materialized) the raw ones with the graph applied as they are read.
    training_examples = (transform.outputs["transformed_examples"] if spec.transform.materialize
                         else example_gen.outputs["examples"])
    tuner = _tuner(spec, training_examples, transform, schema_gen, trainer_custom_config)
    trainer_args = dict(
        run_fn=RUN_FN,
        base_model=warm_start_resolver.outputs[MODEL_KEY] if warm_start_resolver is not None else None,
        examples=training_examples,
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=trainer_pb2.TrainArgs(num_steps=spec.training.steps)
        if spec.training.steps
        else trainer_pb2.TrainArgs(),
        eval_args=trainer_pb2.EvalArgs(splits=[EVAL_SPLIT]),
        custom_config=trainer_custom_config,
        hyperparameters=tuner.outputs["best_hyperparameters"] if tuner is not None else None,
    )
    trainer = (
        TunableTrainer(**trainer_args, **training_length_parameters(spec.training))
        if placement.runtime_parameters
        else Trainer(**trainer_args)
    ).with_id(TRAINER_ID)

    baseline_channels = {
        MODEL_KEY: Channel(type=standard_artifacts.Model),
        BLESSING_KEY: Channel(type=standard_artifacts.ModelBlessing),
    }
    if placement.custom_resolvers:
        strategy = LatestBlessedOtherModelStrategy
        baseline_channels[CANDIDATE_KEY] = trainer.outputs["model"]
    else:
        strategy = LatestBlessedModelStrategy
    baseline_resolver = Resolver(strategy_class=strategy, **baseline_channels).with_id(
        BASELINE_RESOLVER_ID
    )

    evaluator_args = dict(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs[MODEL_KEY],
        example_splits=[EVAL_SPLIT],
        eval_config=eval_config(spec),
    )
    if spec.training.style in GAN_STYLES:
        evaluator = SampleQualityEvaluator(
            **evaluator_args, **(metric_bound_parameters(spec.evaluation) if placement.runtime_parameters else {}))
    elif placement.runtime_parameters:
        evaluator = TunableEvaluator(**evaluator_args, **metric_bound_parameters(spec.evaluation))
    else:
        evaluator = Evaluator(**evaluator_args)
    evaluator = evaluator.with_id(EVALUATOR_ID)
    pusher = CoursePusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=placement.serving_dir)
        ),
    ).with_id(PUSHER_ID)

    components = [
        example_gen,
        statistics_gen,
        schema_gen,
        *([previous_statistics] if previous_statistics is not None else []),
        example_validator,
        transform,
        *([warm_start_resolver] if warm_start_resolver is not None else []),
        *([tuner] if tuner is not None else []),
        trainer,
        baseline_resolver,
        evaluator,
        pusher,
    ]
    return Pipeline(
        pipeline_name=placement.pipeline_name or spec.id,
        pipeline_root=placement.pipeline_root,
        components=components,
        enable_cache=placement.enable_cache,
        metadata_connection_config=placement.metadata_connection_config,
        beam_pipeline_args=beam_args_for_local_workers(placement.beam_pipeline_args or list(spec.beam.args)),
    )


def _schema_and_statistics(
    spec: PipelineSpec, placement: PipelinePlacement, example_gen: BaseNode
) -> tuple[BaseNode, StatisticsGen]:
    """SchemaGen inferring from this run's statistics, or ImportSchemaGen of the curated schema,
    which StatisticsGen then also reads (categorical integers get value counts for L-infinity)."""
    examples = example_gen.outputs["examples"]
    if spec.validation.schema_file is None:
        statistics_gen = StatisticsGen(examples=examples)
        schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True)
        return schema_gen, statistics_gen
    name = spec.validation.schema_file
    schema_file = (
        os.path.join(placement.schemas_dir, name)
        if placement.schemas_dir and not os.path.dirname(name) else schema_path(name)
    )
    schema_gen = ImportSchemaGen(schema_file=schema_file)
    return schema_gen, StatisticsGen(examples=examples, schema=schema_gen.outputs["schema"])


def _tuner(spec: PipelineSpec, examples: BaseChannel, transform: Transform, schema_gen: BaseNode,
           trainer_custom_config: dict) -> Tuner | None:
    """TFX's Tuner with the spec's search (`modules.tuning.tuner_fn`), on what the Trainer trains on."""
    if spec.tuning is None:
        return None
    from tfx.components import Tuner  # imports KerasTuner: only for a spec that tunes

    return Tuner(
        examples=examples,
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        tuner_fn=TUNER_FN,
        train_args=trainer_pb2.TrainArgs(),
        eval_args=trainer_pb2.EvalArgs(splits=[EVAL_SPLIT]),
        custom_config={**trainer_custom_config, TUNING_KEY: spec.tuning.model_dump(mode="json"),
                       CODE_FINGERPRINT_KEY: code_fingerprint([entry_module(TUNER_FN)])},
    ).with_id(TUNER_ID)


def _warm_start_resolver(spec: PipelineSpec) -> Resolver | None:
    """The latest blessed model, whose weights the Trainer starts from (`training.warm_start`).

    TFX's stock strategy: this run's model does not exist yet when it resolves, so it cannot hand
    the Trainer its own output. An unchanged re-run therefore trains on from the last blessed
    model instead of coming from the cache: that is what warm start asks for.
    """
    if not spec.training.warm_start:
        return None
    return Resolver(
        strategy_class=LatestBlessedModelStrategy,
        **{MODEL_KEY: Channel(type=standard_artifacts.Model), BLESSING_KEY: Channel(type=standard_artifacts.ModelBlessing)},
    ).with_id(WARM_START_RESOLVER_ID)


def _previous_statistics_resolver(
    spec: PipelineSpec, placement: PipelinePlacement, statistics_gen: StatisticsGen
) -> Resolver | None:
    """The previous span's ExampleStatistics (earlier runs of this pipeline), for the drift check."""
    if not spec.validation.drift.enabled:
        return None
    earlier = Channel(type=standard_artifacts.ExampleStatistics)
    if not placement.custom_resolvers:
        return Resolver(
            strategy_class=LatestArtifactStrategy, statistics=earlier
        ).with_id(PREVIOUS_STATISTICS_RESOLVER_ID)
    return Resolver(
        strategy_class=PreviousSpanStatisticsStrategy,
        **{STATISTICS_KEY: earlier, CURRENT_KEY: statistics_gen.outputs["statistics"]},
    ).with_id(PREVIOUS_STATISTICS_RESOLVER_ID)
