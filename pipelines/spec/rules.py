"""Cross-field rules of a spec: small named functions run after parsing.

Each `check_*` function takes a parsed `PipelineSpec` and yields the `Problem`s it finds; the
`@check` decorator registers it (a test makes sure none is forgotten). `run_checks` runs them all
so that the user sees every problem at once.

Every rule but one runs without TensorFlow, so a spec's mistakes are reported in a fraction of a
second. The exception is whether a user's `package.module:function` holds a callable, which only
importing the user's module (and with it Keras) tells: that rule is registered `heavy` and runs
only when every light rule passed, so a spec with mistakes fails fast and a spec without them is
checked completely.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Callable, Iterator

from pydantic import Field, TypeAdapter, ValidationError

from components.sources import get_source
from components.sources.columns import TableOptions
from components.sources.dates import parse_date
from components.validation.anomalies import anomaly_kinds
from components.validation.schemas import SchemaFileError, read_schema, schema_path
from modules.model_hparams import MODEL_HPARAMS, UserHParams, hparams_class, model_name_problem
from modules.spec_sections import (
    GAN_STYLES,
    LEARNING_RATE,
    Categorical,
    Date,
    Fillable,
    OneHot,
    ScaleLike,
    Vocabulary,
    output_width,
)
from pipelines.kubeflow.storage import cluster_location_problem, endpoint_problem
from pipelines.names import EVAL_METRICS, FRECHET_DISTANCE, GAN_MODEL, LABEL_SLICE, TRAINER_ID
from pipelines.spec.errors import Problem, error_message, problems_from_validation

if TYPE_CHECKING:
    from pipelines.spec.pipeline_spec import PipelineSpec

Check = Callable[["PipelineSpec"], Iterator[Problem]]


@dataclass(frozen=True)
class RegisteredCheck:
    """A check and the top-level spec sections it reads (it runs only when those parsed)."""

    function: Check
    sections: frozenset[str]
    heavy: bool = False  # imports TensorFlow: runs only when the light rules found nothing


CHECKS: list[RegisteredCheck] = []
KUBEFLOW_CHECKS: list[RegisteredCheck] = []
KFP_CHECKS: list[RegisteredCheck] = []  # compiled for the open-source KFP backend only

def check(*sections: str, registry: list[RegisteredCheck] = CHECKS, heavy: bool = False) -> Callable[[Check], Check]:
    """Registers a check that every spec must pass; `sections` are the ones it reads."""

    def decorator(function: Check) -> Check:
        registry.append(RegisteredCheck(function, frozenset(sections), heavy))
        return function

    return decorator


def kubeflow_check(*sections: str) -> Callable[[Check], Check]:
    """Registers a check that only a spec compiled for Kubeflow (either target) must pass."""
    return check(*sections, registry=KUBEFLOW_CHECKS)


def kfp_check(*sections: str) -> Callable[[Check], Check]:
    """Registers a check that only a spec compiled for the open-source KFP backend must pass."""
    return check(*sections, registry=KFP_CHECKS)


def run_checks(
    spec: PipelineSpec,
    checks: list[RegisteredCheck] | None = None,
    parsed_sections: set[str] | None = None,
    run_heavy: bool = True,
    heavy_only: bool = False,
) -> list[Problem]:
    """Runs `checks` (default: all) whose sections are in `parsed_sections` (default: all): the
    light ones (unless `heavy_only`), then, when they found nothing and `run_heavy`, the heavy ones."""
    selected = [
        registered for registered in (CHECKS if checks is None else checks)
        if parsed_sections is None or registered.sections <= parsed_sections
    ]
    problems = [] if heavy_only else [
        problem for registered in selected if not registered.heavy for problem in registered.function(spec)
    ]
    if problems or not run_heavy:
        return problems
    return [problem for registered in selected if registered.heavy for problem in registered.function(spec)]


@check("data")
def check_data_source_known(spec: PipelineSpec) -> Iterator[Problem]:
    try:
        get_source(spec.data.source)
    except (KeyError, ImportError) as error:
        yield Problem("data.source", error_message(error))


@check("data")
def check_data_options(spec: PipelineSpec) -> Iterator[Problem]:
    source = spec.data.named_source()
    if source is None:
        return
    try:
        source.parse_options(spec.data.options)
    except ValidationError as error:
        yield from problems_from_validation(
            source.options_class, error, prefix="data.options.",
            unknown_key=f"unknown option for source {source.id!r}",
        )


@check("validation")
def check_warn_on_kinds(spec: PipelineSpec) -> Iterator[Problem]:
    kinds = anomaly_kinds()
    for index, kind in enumerate(spec.validation.warn_on):
        if kind not in kinds:
            close = difflib.get_close_matches(kind, kinds, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"e.g. {', '.join(kinds[:4])}"
            yield Problem(f"validation.warn_on.{index}",
                          f"{kind!r} is not a TFDV anomaly kind (AnomalyInfo.Type name); {hint}")


@check("validation", "data")
def check_validation_schema_fits_source(spec: PipelineSpec) -> Iterator[Problem]:
    """A curated schema must be readable and describe exactly the features the source emits."""
    source = spec.data.known_source()
    if spec.validation.schema_file is None or source is None:
        return
    try:
        schema = read_schema(schema_path(spec.validation.schema_file))
    except SchemaFileError as error:
        yield Problem("validation.schema", str(error))
        return
    described = {feature.name for feature in schema.feature}
    emitted = set(spec.data.feature_set().all_keys)
    if described != emitted:
        missing, extra = sorted(emitted - described), sorted(described - emitted)
        yield Problem("validation.schema",
                      f"{spec.validation.schema_file} does not describe the features source {source.id!r} emits"
                      + (f"; lacks {', '.join(missing)}" if missing else "")
                      + (f"; has unknown {', '.join(extra)}" if extra else ""))


@check("validation", "data")
def check_threshold_features_exist(spec: PipelineSpec) -> Iterator[Problem]:
    source = spec.data.known_source()
    if source is None:
        return
    emitted = spec.data.feature_set().all_keys
    for section, thresholds in (("drift", spec.validation.drift), ("skew", spec.validation.skew)):
        for name in thresholds.features if thresholds is not None else ():
            if name not in emitted:
                yield Problem(f"validation.{section}.features.{name}",
                              f"source {source.id!r} has no feature {name!r}; expected one of: {', '.join(emitted)}")


@check("data")
def check_split_fits_source(spec: PipelineSpec) -> Iterator[Problem]:
    """`given` needs a source with its own train/test files; a fixed split cannot be replaced."""
    source = spec.data.named_source()
    split = spec.data.split
    if source is None or split is None or split.kind == source.default_split.kind:
        return
    if source.fixed_split:
        yield Problem(
            "data.split.kind",
            f"source {source.id!r} splits by itself ({source.default_split.kind!r}); "
            f"expected no data.split or kind {source.default_split.kind!r}, got {split.kind!r}",
        )
    elif split.kind == "given" and source.default_split.kind != "given" and not source.can_give_split:
        yield Problem(
            "data.split.kind",
            f"source {source.id!r} has no train/test files of its own; expected kind shuffle, "
            f"sklearn or all, got 'given'",
        )


@check("data", "transform")
def check_transform_features_exist(spec: PipelineSpec) -> Iterator[Problem]:
    source = spec.data.known_source()
    if source is None:
        return
    features = spec.data.feature_set()
    for name in spec.transform.features:
        if name == features.label:
            yield Problem(
                f"transform.features.{name}",
                f"{name!r} is the label; the label is not transformed (it reaches the model raw)",
            )
        elif name not in features.features:
            yield Problem(
                f"transform.features.{name}",
                f"feature {name!r} unknown for source {source.id!r}; "
                f"expected one of: {', '.join(features.features)}",
            )
    if not spec.transform.features:
        yield Problem("transform.features", "expected at least one feature for the model")


@check("data")
def check_table_columns_declared(spec: PipelineSpec) -> Iterator[Problem]:
    """A table source (csv, tfrecord) runs on the columns the spec declares, never on a guess."""
    source = spec.data.known_source()
    if source is None or not issubclass(source.options_class, TableOptions):
        return
    if not spec.data.options.get("columns") and not spec.data.options.get("schema"):
        yield Problem("data.options.columns",
                      f"the {source.id} source reads the columns the spec declares; expected columns: "
                      f"[{{name, kind}}, ...]{' or schema: FILE.pbtxt' if source.id == 'tfrecord' else ''} "
                      f"(`coursepipe data {source.id} --data-dir FILE` prints them to paste)")


@check("data", "transform")
def check_transform_fits_the_feature(spec: PipelineSpec) -> Iterator[Problem]:
    """Strings take a categorical (or vocabulary) transform, numbers the others; a feature some
    examples lack needs a transform that fills it."""
    if spec.data.known_source() is None:
        return
    features = spec.data.feature_set()
    dates = _date_columns(spec)
    for name, transform in spec.transform.features.items():
        if name not in features.features:
            continue
        kind = features.feature(name).kind
        if (name in dates) != isinstance(transform, Date):
            yield Problem(f"transform.features.{name}",
                          f"{name!r} holds dates; expected kind date, got {transform.kind}" if name in dates
                          else f"kind date reads a date column; {name!r} is declared kind {kind} (expected kind: date "
                          "in data.options.columns)")
        elif isinstance(transform, Date) and transform.fill is not None and not _is_date(str(transform.fill)):
            yield Problem(f"transform.features.{name}.fill",
                          f"{transform.fill!r} is not a date; expected one as the column stores it "
                          "(YYYY-MM-DDTHH:MM:SS, or YYYY-MM-DD)")
        elif kind == "text" and not isinstance(transform, (Categorical, Vocabulary, Date)):
            yield Problem(f"transform.features.{name}",
                          f"{name!r} holds strings; expected kind categorical (or vocabulary for free text), "
                          f"got {transform.kind}")
        elif kind == "float" and isinstance(transform, Categorical):
            yield Problem(f"transform.features.{name}",
                          f"{name!r} holds floats; expected bucketize for ranges of a number, got categorical")
        if name in features.optional and getattr(transform, "fill", None) is None:
            fillable = isinstance(transform, Fillable)
            yield Problem(f"transform.features.{name}",
                          f"{name!r} may be missing (missing: keep); expected "
                          + ("a fill value: {kind: " + transform.kind + ", fill: VALUE}" if fillable
                             else f"a transform that fills it (zscore, scale_to_0_1, bucketize, categorical, identity), "
                                  f"got {transform.kind}"))


def _is_date(text: str) -> bool:
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


def _date_columns(spec: PipelineSpec) -> set[str]:
    """The columns a table source declares `kind: date` (none for other sources, or options that
    do not parse: their own rule reports those)."""
    source = spec.data.known_source()
    if source is None or not issubclass(source.options_class, TableOptions):
        return set()
    try:
        options = source.parse_options(spec.data.options)
    except ValidationError:
        return set()
    return set(options.date_columns())


@check("model")
def check_model_and_hparams(spec: PipelineSpec) -> Iterator[Problem]:
    """A registered model (or a `package.module:function` whose module exists) and hyperparameters
    that fit its schema; neither imports the model's code."""
    problem = model_name_problem(spec.model.name)
    if problem is not None:
        yield Problem("model.name", problem)
        return
    schema = hparams_class(spec.model.name)
    try:
        schema.model_validate(spec.model.hparams)
    except ValidationError as error:
        yield from problems_from_validation(
            schema, error, prefix="model.hparams.", unknown_key=f"unknown hyperparameter for {spec.model.name!r}",
        )


@check("model", heavy=True)
def check_user_builder_is_callable(spec: PipelineSpec) -> Iterator[Problem]:
    """A user's `package.module:function` names a callable: known only by importing the module,
    which imports the user's Keras code."""
    if spec.model.name in MODEL_HPARAMS:
        return  # a registered model: the registry has its builder
    from modules.registry import resolve_model

    try:
        resolve_model(spec.model.name)
    except (KeyError, ImportError) as error:
        yield Problem("model.name", error_message(error))


@check("data", "transform", "model")
def check_input_shape_matches_data(spec: PipelineSpec) -> Iterator[Problem]:
    """A flat model input must be as wide as the transformed features put side by side."""
    source = spec.data.known_source()
    input_shape = spec.model.hparams.get("input_shape")
    if source is None or not isinstance(input_shape, (list, tuple)) or len(input_shape) != 1:
        return
    features = spec.data.feature_set()
    names = [n for n in spec.transform.features if n in features.features]
    width = sum(output_width(spec.transform.features[n], features.feature(n).fixed_size or 1) for n in names)
    if names and input_shape[0] != width:
        yield Problem(
            "model.hparams.input_shape",
            f"expected [{width}] (the transformed features {', '.join(names)} side by side), "
            f"got {list(input_shape)}",
        )


@check("data", "transform")
def check_scaled_label(spec: PipelineSpec) -> Iterator[Problem]:
    """scale_like scales a numeric label by one of the transformed input features."""
    scale = spec.transform.label
    source = spec.data.known_source()
    if not isinstance(scale, ScaleLike) or source is None:
        return
    if scale.feature not in spec.transform.features:
        yield Problem("transform.label.feature", f"{scale.feature!r} is not a transformed feature; "
                      f"expected one of: {', '.join(spec.transform.features)}")
    features = spec.data.feature_set()
    if features.feature(features.label).kind != "float":
        yield Problem("transform.label", f"scale_like needs a numeric label; {features.label!r} is a class index "
                      "(expected one_hot or no label transform)")


# Transforms that keep a feature's shape (an image stays [h, w, c]).
_SHAPE_KEEPING = ("divide", "rescale", "zscore", "scale_to_0_1", "identity", "ids")


@check("data", "transform", "model")
def check_image_shape_matches_data(spec: PipelineSpec) -> Iterator[Problem]:
    """A model reading one shaped feature (an image) must be built for that feature's shape."""
    source = spec.data.known_source()
    input_shape = spec.model.hparams.get("input_shape")
    if source is None or not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2:
        return
    if len(spec.transform.features) != 1:
        return
    (name, transform), = spec.transform.features.items()
    features = spec.data.feature_set()
    stored = features.feature(name).shape
    if name in features.features and transform.kind in _SHAPE_KEEPING and len(stored) > 1 and tuple(input_shape) != tuple(stored):
        yield Problem("model.hparams.input_shape",
                      f"expected {list(stored)} (the shape of {spec.data.source}'s {name!r}), got {list(input_shape)}")


@check("transform", "training")
def check_loss_fits_the_target(spec: PipelineSpec) -> Iterator[Problem]:
    """One-hot targets need a dense loss; integer labels need a sparse one."""
    one_hot = isinstance(spec.transform.label, OneHot)
    loss = spec.training.loss
    if one_hot and loss == "sparse_categorical_crossentropy":
        yield Problem(
            "training.loss",
            "transform.label makes one-hot targets; expected categorical_crossentropy or "
            "mean_squared_error, got sparse_categorical_crossentropy",
        )
    if not one_hot and loss == "categorical_crossentropy":
        yield Problem(
            "training.loss",
            "categorical_crossentropy needs one-hot targets; expected transform.label: "
            "{kind: one_hot, depth: N} or loss sparse_categorical_crossentropy",
        )
    wrong_metric = "sparse_categorical_accuracy" if one_hot else "categorical_accuracy"
    if wrong_metric in spec.training.metrics:
        yield Problem(
            "training.metrics",
            f"{wrong_metric} does not fit {'one-hot' if one_hot else 'integer'} targets; expected "
            f"{'categorical_accuracy' if one_hot else 'sparse_categorical_accuracy'}",
        )


@check("training", "evaluation")
def check_unsupervised_models_gate_on_reconstruction(spec: PipelineSpec) -> Iterator[Problem]:
    reconstructs = spec.training.target == "input"
    if reconstructs and spec.evaluation.metric != "reconstruction_loss":
        yield Problem("evaluation.metric", "a model trained on target: input has no label to score; "
                      f"expected reconstruction_loss (with an upper_bound), got {spec.evaluation.metric!r}")
    if not reconstructs and spec.evaluation.metric == "reconstruction_loss":
        yield Problem("evaluation.metric", "reconstruction_loss needs training.target: input")


@check("training", "evaluation", "model", "data")
def check_generators_train_and_gate_as_generators(spec: PipelineSpec) -> Iterator[Problem]:
    """gan / wgan_gp train the dcgan pair and are gated on their pictures; nothing else is."""
    generative = spec.training.style in GAN_STYLES
    if generative and spec.model.name != GAN_MODEL:
        yield Problem("model.name", f"style {spec.training.style} trains a generator and a discriminator; "
                      f"expected model {GAN_MODEL}, got {spec.model.name!r}")
    if not generative and spec.model.name == GAN_MODEL:
        yield Problem("training.style", f"model {GAN_MODEL} trains by style gan or wgan_gp, got {spec.training.style!r}")
    if generative != (spec.evaluation.metric == FRECHET_DISTANCE):
        yield Problem("evaluation.metric", (
            f"a generator has no label to score; expected {FRECHET_DISTANCE} (with an upper_bound), "
            f"got {spec.evaluation.metric!r}") if generative else
            f"{FRECHET_DISTANCE} scores a generator's pictures; it needs training.style gan or wgan_gp")
    if generative and (spec.evaluation.slices or spec.evaluation.report):
        yield Problem("evaluation", "a generator's evaluation has no slices or extra metrics (frechet_distance only)")
    source = spec.data.known_source()
    if generative and source is not None:
        features = spec.data.feature_set()
        pictures = [name for name in features.features if features.feature(name).kind == "uint8"]
        if list(spec.transform.features) != pictures[:1] or len(pictures) != 1:
            yield Problem("transform.features", f"a generator learns one picture feature; expected exactly "
                          f"{pictures[:1] or 'a uint8 picture feature'} of source {spec.data.source}, "
                          f"got {list(spec.transform.features)}")


@check("training")
def check_checkpoint_monitor_is_logged(spec: PipelineSpec) -> Iterator[Problem]:
    """ModelCheckpoint can only watch what fit logs: the loss and the metrics, train or val_."""
    checkpoint = spec.training.checkpoint
    if checkpoint is None:
        return
    logged = [name for metric in ("loss", *spec.training.metrics) for name in (metric, f"val_{metric}")]
    if checkpoint.monitor not in logged:
        yield Problem(
            "training.checkpoint.monitor",
            f"{checkpoint.monitor!r} is not logged by this training; expected one of: {', '.join(logged)}",
        )


@check("evaluation")
def check_eval_metric(spec: PipelineSpec) -> Iterator[Problem]:
    evaluation = spec.evaluation
    if evaluation.metric not in EVAL_METRICS:
        yield Problem(
            "evaluation.metric",
            f"metric {evaluation.metric!r} unknown; expected one of: {', '.join(EVAL_METRICS)}",
        )
    for index, name in enumerate(evaluation.report):
        if name not in EVAL_METRICS or name == "reconstruction_loss":
            yield Problem(f"evaluation.report[{index}]", f"metric {name!r} unknown; expected one of: "
                          f"{', '.join(m for m in EVAL_METRICS if m != 'reconstruction_loss')}")
    if (
        evaluation.lower_bound is not None
        and evaluation.upper_bound is not None
        and evaluation.lower_bound > evaluation.upper_bound
    ):
        yield Problem("evaluation", "expected lower_bound <= upper_bound")


@check("evaluation")
def check_gate_bounds_within_the_metric_range(spec: PipelineSpec) -> Iterator[Problem]:
    """A bound the metric can never reach (accuracy 1.5, a loss below 0) would never bless a model."""
    gated = EVAL_METRICS.get(spec.evaluation.metric)
    if gated is None:
        return
    bounded = [("evaluation", spec.evaluation)] + [
        (f"evaluation.slices[{index}]", config) for index, config in enumerate(spec.evaluation.slices)
    ]
    for where, section in bounded:
        for name in ("lower_bound", "upper_bound"):
            value = getattr(section, name)
            if value is not None and not gated.lowest <= value <= gated.highest:
                allowed = (f"in [{gated.lowest:g}, {gated.highest:g}]" if gated.highest != float("inf")
                           else f">= {gated.lowest:g}")
                yield Problem(f"{where}.{name}",
                              f"{spec.evaluation.metric} takes values {allowed}; a bound of {value:g} could never "
                              "be met, so no model would be blessed")


@check("evaluation", "data")
def check_slices_name_the_label_or_a_feature(spec: PipelineSpec) -> Iterator[Problem]:
    """A slice by the label needs classes; a slice by a feature needs that feature."""
    if spec.data.known_source() is None:
        return
    features = spec.data.feature_set()
    for index, config in enumerate(spec.evaluation.slices):
        where = f"evaluation.slices[{index}].by"
        if config.by == LABEL_SLICE:
            if not features.num_classes:
                yield Problem(where, f"slicing by the label needs classes; {features.label!r} of source "
                              f"{spec.data.source!r} is not a class label (slice by a feature instead)")
        elif config.by not in features.features:
            yield Problem(where, f"expected '{LABEL_SLICE}' or a feature of source {spec.data.source!r} "
                          f"({', '.join(features.features)}), got {config.by!r}")
            continue
        stored = features.feature(config.by) if config.by != LABEL_SLICE else None
        if config.by in _date_columns(spec):
            yield Problem(where, f"{config.by!r} is a date column: one slice per distinct date and time; slice by a "
                          "column of its own (a month, a weekday) written into the data instead")
            continue
        if not config.buckets:
            if stored is not None and stored.kind == "float":
                yield Problem(f"evaluation.slices[{index}]",
                              f"{config.by!r} is a float feature: one slice per distinct value would make about one "
                              "slice per example; give buckets (ascending boundaries, e.g. buckets: [0.5, 1.5])")
            continue
        if stored is None or stored.kind not in ("float", "int") or stored.shape not in ((), (1,)):
            yield Problem(f"evaluation.slices[{index}].buckets", f"buckets need a numeric feature with one value "
                          f"per example; {config.by!r} is not one")
        elif any(low >= high for low, high in zip(config.buckets, config.buckets[1:], strict=False)):
            yield Problem(f"evaluation.slices[{index}].buckets",
                          f"expected ascending boundaries, got {config.buckets}")


@check("kubeflow")
def check_gpu_request(spec: PipelineSpec) -> Iterator[Problem]:
    trainer = spec.kubeflow.trainer
    if trainer.gpu_type is not None and trainer.gpus == 0:
        yield Problem(
            "kubeflow.trainer.gpu_type",
            f"gpu_type {trainer.gpu_type!r} given with gpus: 0; expected gpus >= 1 or no gpu_type",
        )


@check("kubeflow", "validation")
def check_resources_name_components(spec: PipelineSpec) -> Iterator[Problem]:
    known = [name for name in spec.component_ids() if name != TRAINER_ID]
    for name in spec.kubeflow.resources:
        if name == TRAINER_ID:
            yield Problem("kubeflow.resources.Trainer", "the Trainer's cpu and memory go under kubeflow.trainer")
        elif name != "default" and name not in known:
            yield Problem(f"kubeflow.resources.{name}",
                          f"unknown component {name!r}; expected default or one of: {', '.join(known)}")


@check("kubeflow", "validation")
@kubeflow_check("kubeflow", "validation")  # again when compiling: --retries adds entries
def check_retries_name_components(spec: PipelineSpec) -> Iterator[Problem]:
    known = spec.component_ids()
    for name in spec.kubeflow.retries:
        if name != "default" and name not in known:
            yield Problem(f"kubeflow.retries.{name}",
                          f"unknown component {name!r}; expected default or one of: {', '.join(known)}")


@kubeflow_check("kubeflow")
def check_s3_endpoints_carry_a_scheme(spec: PipelineSpec) -> Iterator[Problem]:
    for name, value in sorted(spec.kubeflow.env.items()):
        if problem := endpoint_problem(name, value):
            yield Problem(f"kubeflow.env.{name}", problem)


@kubeflow_check("kubeflow")
def check_kubeflow_image(spec: PipelineSpec) -> Iterator[Problem]:
    if not spec.kubeflow.image:
        yield Problem(
            "kubeflow.image",
            "compiling for Kubeflow needs a container image with this project installed "
            "(kubeflow.image in the spec, or --image)",
        )


@kubeflow_check("kubeflow")
def check_gpu_trainer_has_a_gpu_image(spec: PipelineSpec) -> Iterator[Problem]:
    """A Trainer that asks for a GPU must run an image whose TensorFlow can use it."""
    if spec.kubeflow.trainer.gpus and not spec.kubeflow.gpu_image:
        yield Problem(
            "kubeflow.gpu_image",
            f"the Trainer requests {spec.kubeflow.trainer.gpus} GPU(s); expected an image with CUDA "
            "and cuDNN for TensorFlow 2.16 (kubeflow.gpu_image in the spec, or --gpu-image)",
        )


@kubeflow_check("kubeflow")
def check_kubeflow_pipeline_root(spec: PipelineSpec) -> Iterator[Problem]:
    root = spec.kubeflow.pipeline_root
    if not root:
        yield Problem(
            "kubeflow.pipeline_root",
            "compiling for Kubeflow needs a pipeline root URI such as gs://BUCKET/PATH "
            "(kubeflow.pipeline_root in the spec, or --pipeline-root)",
        )
    elif problem := cluster_location_problem(root):
        yield Problem("kubeflow.pipeline_root", f"(or --pipeline-root) {problem}")


# A Kubernetes extended resource name: nvidia.com/gpu, amd.com/gpu, gpu.intel.com/i915.
_RESOURCE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
# Beam runners whose workers run elsewhere, in a container Beam starts from --sdk_container_image.
REMOTE_BEAM_RUNNERS = ("DataflowRunner", "FlinkRunner", "SparkRunner", "PortableRunner")


@kfp_check("kubeflow")
def check_gpu_type_is_a_resource_name(spec: PipelineSpec) -> Iterator[Problem]:
    """On open-source KFP the accelerator type becomes the pod's resource limit verbatim."""
    gpu_type = spec.kubeflow.trainer.gpu_type
    if gpu_type is not None and not _RESOURCE_NAME.match(gpu_type):
        yield Problem(
            "kubeflow.trainer.gpu_type",
            f"expected a Kubernetes resource name such as nvidia.com/gpu, got {gpu_type!r} (choose the GPU "
            "model with kubeflow.trainer.node_selector, e.g. cloud.google.com/gke-accelerator: nvidia-tesla-t4)",
        )


@kfp_check("beam", "kubeflow")
def check_remote_beam_workers_run_the_image(spec: PipelineSpec) -> Iterator[Problem]:
    """A remote Beam runner's workers need TFX, TFT and this project: the project's image."""
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in spec.beam.args if "=" in arg)
    runner = flags.get("runner", "")
    if runner not in REMOTE_BEAM_RUNNERS:
        return
    image = flags.get("sdk_container_image")
    if image != spec.kubeflow.image:
        yield Problem(
            "beam.args",
            f"--runner={runner} starts Beam workers from --sdk_container_image; expected "
            f"--sdk_container_image={spec.kubeflow.image} (the project's image, with TFX, TFT and the "
            f"modules), got {image!r}",
        )


def _search_values_out_of_range(space: dict, schema: type) -> Iterator[Problem]:
    """Candidates (a choice's values, a range's ends) the hyperparameter itself refuses, e.g.
    `dropout: [5.0, -1.0]`: found here rather than as a failed trial's traceback."""
    for name, dimension in space.items():
        if name == LEARNING_RATE:
            adapter = TypeAdapter(Annotated[float, Field(gt=0)])
        elif name in schema.model_fields:
            field = schema.model_fields[name]
            adapter = TypeAdapter(Annotated.__class_getitem__((field.annotation, *field.metadata)))
        else:
            continue
        candidates = dimension.values if dimension.kind == "choice" else [dimension.min, dimension.max]
        for value in candidates:
            try:
                adapter.validate_python(int(value) if dimension.kind == "int" else value)
            except ValidationError as error:
                reason = error.errors()[0]["msg"]
                yield Problem(f"tuning.space.{name}", f"candidate {value!r} is not a valid {name}: {reason}")


@check("tuning", "model", "training")
def check_tuning_searches_known_hyperparameters(spec: PipelineSpec) -> Iterator[Problem]:
    """The search space names the model's hyperparameters (or the learning rate); the objective a
    metric the Trainer logs."""
    tuning = spec.tuning
    if tuning is None:
        return
    schema = hparams_class(spec.model.name)
    if schema is not None and schema is not UserHParams:
        known = [LEARNING_RATE, *schema.model_fields]
        for name in tuning.space:
            if name not in known:
                yield Problem(f"tuning.space.{name}", f"expected a hyperparameter of model {spec.model.name!r} "
                              f"or {LEARNING_RATE}: {', '.join(known)}")
        yield from _search_values_out_of_range(tuning.space, schema)
    logged = ["loss", *spec.training.metrics]
    logged += [f"val_{name}" for name in logged]
    if tuning.objective not in logged:
        yield Problem("tuning.objective", f"expected a metric the Trainer logs: {', '.join(logged)}; "
                      f"got {tuning.objective!r}")
