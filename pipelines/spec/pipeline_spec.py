"""`PipelineSpec`: one validated YAML file per pipeline.

`PipelineSpec.from_yaml(path)` and `load_spec(id)` are the public loaders. Parsing rejects unknown
keys and wrong types; the cross-field rules in `pipelines.spec.rules` run after it; every problem of
both kinds comes back at once in one `SpecError`.
"""
from __future__ import annotations

import os
import re
import shlex
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import Field, NonNegativeInt, PositiveInt, PrivateAttr, TypeAdapter, ValidationError, field_validator

from components.sources import DataSource, get_source
from components.splits import SplitConfig
from components.validation.config import ValidationConfig
from modules.features import FeatureSet
from modules.spec_sections import ModelConfig, StrictModel, TrainingConfig, TransformConfig, TuningConfig
from pipelines.kubeflow.metadata_address import DEFAULT_METADATA, MetadataAddress
from pipelines.kubeflow.metadata_address import EXPECTED as METADATA_EXPECTED
from pipelines.names import LABEL_SLICE, component_ids
from pipelines.spec.errors import Problem, SpecError, problems_from_validation
from pipelines.spec.rules import KFP_CHECKS, KUBEFLOW_CHECKS, run_checks

SPECS_PACKAGE = "pipelines"
SPECS_DIR = "specs"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"
# Where `coursepipe compile --target` sends a pipeline: the open-source KFP 2.x backend, or Vertex AI.
KFP_TARGET, VERTEX_TARGET = "kubeflow", "vertex"
TARGETS = (KFP_TARGET, VERTEX_TARGET)
# Kubernetes resource quantities: "2", "500m", "8Gi", "1.5G".
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$"


class DataConfig(StrictModel):
    """Which source, where its files are, its options, and how to split it."""

    source: str
    path: str | None = Field(
        None,
        description="a directory holding the source's files (span-<N> folders for data drops), "
        "or one data file; default: where the source's files usually are (Keras cache, packages)",
    )
    split: SplitConfig | None = Field(None, description="default: the course's split for the source")
    options: dict[str, Any] = Field(default_factory=dict, description="the source's own options")

    def named_source(self) -> DataSource | None:
        """The source `source` names, or None when there is none of that name (a spec rule says so)."""
        try:
            return get_source(self.source)
        except (KeyError, ImportError):
            return None

    def known_source(self) -> DataSource | None:
        """The named source when its options parse too; None otherwise (a spec rule reports either
        problem, and the rules about the features it emits wait for both)."""
        source = self.named_source()
        if source is None:
            return None
        try:
            source.parse_options(self.options)
        except ValidationError:
            return None
        return source

    def feature_set(self) -> FeatureSet:
        """The features and label the source emits with these options; KeyError for an unknown source."""
        return get_source(self.source).feature_set(self.options)


class SliceConfig(StrictModel):
    """Metrics per slice of the eval split, and optionally a bound every slice must meet."""

    by: str = Field(description=f"'{LABEL_SLICE}' (one slice per class) or a feature of the source (one slice "
                    "per value: a categorical or integer column)")
    buckets: list[float] = Field(
        default_factory=list,
        description="for a numeric feature: ascending boundaries; one slice per interval between them",
    )
    lower_bound: float | None = Field(None, description="the gated metric's bound in every slice")
    upper_bound: float | None = None


class EvaluationConfig(StrictModel):
    """What blesses a model: a bound on `metric`, and no regression against the last blessed one."""

    metric: str = "sparse_categorical_accuracy"
    lower_bound: float | None = None
    upper_bound: float | None = None
    change_threshold: float = Field(
        -1e-10,
        description="absolute change vs the baseline, in the metric's better direction, "
        "that the candidate must exceed (TFMA GenericChangeThreshold.absolute)",
    )
    report: list[str] = Field(
        default_factory=list,
        description="more metrics the Evaluator computes and the run reports, without gating "
        "(the stock models' RMSE and MAE beside the gated MSE)",
    )
    slices: list[SliceConfig] = Field(
        default_factory=list,
        description="TFMA slices: every metric per class or per feature value; a slice's bounds gate too",
    )
    pictures: PositiveInt = Field(
        1000, description="frechet_distance: how many eval-split pictures and generated ones are compared"
    )


class PushConfig(StrictModel):
    destination: str = Field(
        "serving", description="serving directory; relative paths are under the run's output dir"
    )


class BeamConfig(StrictModel):
    """Beam pipeline arguments for the Beam-based components.

    The default runner is Beam's FnApiRunner, named explicitly: Beam 2.74's `DirectRunner` first
    tries the Prism runner, which downloads a binary at run time (it fails here, offline, and then
    falls back to the FnApiRunner anyway).
    """

    args: list[str] = Field(
        default_factory=lambda: [
            "--runner=FnApiRunner",
            "--direct_running_mode=in_memory",
            "--direct_num_workers=1",
        ]
    )

    @field_validator("args")
    @classmethod
    def _flags_only(cls, args: list[str]) -> list[str]:
        for arg in args:
            if not arg.startswith("--"):
                raise ValueError(f"expected Beam flags like '--direct_num_workers=1', got {arg!r}")
        return args


class ComponentResources(StrictModel):
    """CPU and memory limits of one component's pod on Kubeflow (Kubernetes quantities)."""

    cpu: str | None = Field(None, pattern=QUANTITY_PATTERN)
    memory: str | None = Field(None, pattern=QUANTITY_PATTERN)


class Toleration(StrictModel):
    """A Kubernetes toleration, so that the pod may run on tainted (GPU) nodes."""

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class TrainerResources(ComponentResources):
    """The Trainer's pod: CPU, memory, GPUs and the nodes it may run on."""

    gpus: NonNegativeInt = 0
    gpu_type: str | None = Field(
        None,
        description="open-source KFP: the Kubernetes resource name (default nvidia.com/gpu); "
        "Vertex AI: the accelerator type (NVIDIA_TESLA_T4, ...)",
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="node labels the Trainer's pod requires (open-source KFP)"
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="taints of GPU nodes the Trainer's pod tolerates (open-source KFP)"
    )


class SecretKey(StrictModel):
    """One key of a Kubernetes secret, handed to every step as an environment variable."""

    secret: str
    key: str


# Steps TFX resumes by running them again (a new execution, new output URIs) are retried; a Pusher
# killed between copying a model and recording the push would copy it again, so it is not.
DEFAULT_RETRIES = {"default": 2, "Pusher": 0}


class KubeflowConfig(StrictModel):
    image: str | None = Field(None, description="the image every component runs (this project installed)")
    gpu_image: str | None = Field(
        None, description="the Trainer's image when it requests GPUs: the project on a CUDA/cuDNN base"
    )
    pipeline_root: str | None = None
    metadata: str = Field(
        DEFAULT_METADATA,
        description=f"where the steps find ML Metadata (open-source KFP): {METADATA_EXPECTED}",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment of every step, e.g. AWS_ENDPOINT_URL for a MinIO root (open-source KFP)",
    )
    secret_env: dict[str, SecretKey] = Field(
        default_factory=dict,
        description="environment variables from Kubernetes secrets (credentials), never written "
        "into the spec or the compiled pipeline (open-source KFP)",
    )
    trainer: TrainerResources = TrainerResources()
    retries: dict[str, NonNegativeInt] = Field(
        default_factory=dict,
        description="how often a failed step (an evicted or pre-empted pod) is started again, per component "
        f"id; `default` covers the components not named (built in: {DEFAULT_RETRIES}; the Pusher is not "
        "retried unless named, since a push killed half-way is not undone); open-source KFP 2.5.0 and newer",
    )
    retry_backoff_seconds: NonNegativeInt = Field(
        30, description="the wait before a step's first retry, doubled for each further one"
    )
    resources: dict[str, ComponentResources] = Field(
        default_factory=dict,
        description="cpu/memory per component id (StatisticsGen, Transform, Evaluator, ...); "
        "`default` covers the components not named; the Trainer's are under `trainer`",
    )

    @field_validator("metadata")
    @classmethod
    def _metadata_address(cls, uri: str) -> str:
        MetadataAddress.parse(uri)
        return uri

    def retry_count(self, component_id: str) -> int:
        """How often `component_id`'s step is retried: its own entry, else `default`, else the built-in."""
        retries = {**DEFAULT_RETRIES, **self.retries}
        if component_id in self.retries or component_id in DEFAULT_RETRIES:
            return retries[component_id]
        return retries["default"]


class PipelineSpec(StrictModel):
    """A whole pipeline, as written in `pipelines/specs/<id>.yaml`."""

    id: str = Field(pattern=ID_PATTERN)
    description: str
    data: DataConfig
    transform: TransformConfig
    model: ModelConfig
    training: TrainingConfig
    tuning: TuningConfig | None = None
    validation: ValidationConfig = ValidationConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    push: PushConfig = PushConfig()
    beam: BeamConfig = BeamConfig()
    kubeflow: KubeflowConfig = KubeflowConfig()
    # The file a spec was read from, so that hints name it (`--spec FILE`) rather than an id that
    # `coursepipe` does not know.
    _source_file: str | None = PrivateAttr(None)

    def component_ids(self) -> tuple[str, ...]:
        """The ids of the components this spec's pipeline runs (resolvers aside)."""
        return component_ids(imports_schema=self.validation.schema_file is not None, tuned=self.tuning is not None)

    @property
    def reference(self) -> str:
        """How a `coursepipe` command names this pipeline: its id when shipped, else `--spec FILE`."""
        if self._source_file is None or os.path.abspath(self._source_file) == os.path.abspath(spec_path(self.id)):
            return self.id
        return f"--spec {shlex.quote(self._source_file)}"

    def read_from(self, path: str) -> PipelineSpec:
        """This spec, remembering the file it came from."""
        self._source_file = path
        return self

    def __eq__(self, other: object) -> bool:
        """Specs are equal when they declare the same pipeline, wherever they were read from."""
        if not isinstance(other, PipelineSpec):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return super().__hash__()

    @classmethod
    def from_dict(cls, data: Any, source: str = "<spec>", heavy_rules: bool = True) -> PipelineSpec:
        """Validates `data`; raises one `SpecError` naming `source` and every problem.

        Each top-level section is parsed on its own, so a mistake in one section does not hide
        the cross-field problems of the others: a check runs when the sections it reads parsed.
        Without `heavy_rules` the rules that import TensorFlow wait for `check_heavy_rules`, so a
        command can first check what is cheap to check (data files, output paths).
        """
        if not isinstance(data, dict):
            raise SpecError(source, [Problem("", f"expected a mapping, got {type(data).__name__}")])
        try:
            spec = cls.model_validate(data)
        except ValidationError as error:
            problems = problems_from_validation(cls, error)
            parsed = _parse_sections(data)
            problems += run_checks(cls.model_construct(**parsed), parsed_sections=set(parsed), run_heavy=False)
            raise SpecError(source, problems) from None
        problems = run_checks(spec, run_heavy=heavy_rules)
        if problems:
            raise SpecError(source, problems)
        return spec

    def for_cluster(self, pipeline_root: str | None = None, image: str | None = None,
                    gpu_image: str | None = None, metadata: str | None = None,
                    target: str = KFP_TARGET, env: dict[str, str] | None = None,
                    secret_env: dict[str, dict[str, str]] | None = None,
                    retries: dict[str, int] | None = None) -> PipelineSpec:
        """This spec with the command line's cluster options over its `kubeflow` section, checked by
        the rules a spec compiled for `target` must pass (an image, a pipeline root, ...); `SpecError`.
        `env`, `secret_env` and `retries` add to (and override entries of) the spec's own."""
        given = {"pipeline_root": pipeline_root, "image": image, "gpu_image": gpu_image, "metadata": metadata}
        overrides: dict[str, Any] = {key: value for key, value in given.items() if value}
        if metadata:
            try:
                MetadataAddress.parse(metadata)
            except ValueError as error:
                raise SpecError(self.id, [Problem("kubeflow.metadata", f"--metadata: {error}")]) from None
        if env:
            overrides["env"] = {**self.kubeflow.env, **env}
        if secret_env:
            sources = {name: SecretKey(**source) for name, source in secret_env.items()}
            overrides["secret_env"] = {**self.kubeflow.secret_env, **sources}
        if retries:
            overrides["retries"] = {**self.kubeflow.retries, **retries}
        spec = self.model_copy(update={"kubeflow": self.kubeflow.model_copy(update=overrides)})
        problems = run_checks(spec, KUBEFLOW_CHECKS + (KFP_CHECKS if target == KFP_TARGET else []))
        if problems:
            raise SpecError(spec.id, problems)
        return spec

    def check_heavy_rules(self) -> None:
        """Runs the rules `from_dict(..., heavy_rules=False)` left out; raises `SpecError`."""
        problems = run_checks(self, heavy_only=True)
        if problems:
            raise SpecError(self._source_file or self.id, problems)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], heavy_rules: bool = True) -> PipelineSpec:
        """Loads and validates one spec file (see `from_dict` for `heavy_rules`)."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
        except OSError as error:
            raise SpecError(path, [Problem("", f"cannot read the file ({error.strerror})")]) from None
        except yaml.YAMLError as error:
            raise SpecError(path, [Problem("", f"not valid YAML: {error}")]) from None
        return cls.from_dict(data, source=path, heavy_rules=heavy_rules).read_from(path)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True), sort_keys=False)


def _parse_sections(data: dict[str, Any]) -> dict[str, Any]:
    """The top-level sections of `data` that are valid on their own, parsed."""
    parsed = {}
    for name, field in PipelineSpec.model_fields.items():
        if name not in data:
            continue
        try:
            parsed[name] = TypeAdapter(field.annotation).validate_python(data[name])
        except ValidationError:
            continue
    return parsed


def spec_ids() -> list[str]:
    """Ids of the specs that ship with the project."""
    specs = resources.files(SPECS_PACKAGE) / SPECS_DIR
    return sorted(
        entry.name[: -len(".yaml")] for entry in specs.iterdir() if entry.name.endswith(".yaml")
    )


def spec_path(spec_id: str) -> str:
    return str(resources.files(SPECS_PACKAGE) / SPECS_DIR / f"{spec_id}.yaml")


def load_spec(spec_id: str, heavy_rules: bool = True) -> PipelineSpec:
    """The shipped spec `spec_id`; an unknown id is a `SpecError` listing the known ones."""
    known = spec_ids()
    if not re.match(ID_PATTERN, spec_id) or spec_id not in known:
        raise SpecError(
            spec_id, [Problem("id", f"pipeline {spec_id!r} unknown; expected one of: {', '.join(known)}")]
        )
    path = spec_path(spec_id)
    spec = PipelineSpec.from_yaml(path, heavy_rules=heavy_rules)
    if spec.id != spec_id:
        raise SpecError(path, [Problem("id", f"expected {spec_id!r} (the file's name), got {spec.id!r}")])
    return spec
