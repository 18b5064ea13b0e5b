"""Compile a pipeline for the open-source Kubeflow Pipelines 2.x backend, with the KFP SDK.

The open-source backend runs container steps and nothing else (no resolver executors, no
pre-cache checks), hands input artifacts over without the schema TFX's v2 entrypoint reads, and
keys its cache on a step's command and parameters, not on the data. So this target does not use
TFX's Kubeflow v2 compiler. TFX compiles the pipeline to its own intermediate representation, and
each TFX node becomes one KFP container task that runs `pipelines.kubeflow.node_runner`: TFX's
portable launcher on that node, against the cluster's ML Metadata, as TFX ran on Kubeflow v1.
Resolvers, caching, spans and fingerprints then happen inside the steps, exactly as in local runs;
KFP sees container tasks, the TFX DAG's edges as `.after()`, and its own cache off.

Per step the compiled YAML holds: the project image (the GPU image for a GPU Trainer), the node's
IR as JSON, the KFP run's id (`{{workflow.uid}}`, which the API server of every 2.x backend
replaces by the run's id; KFP's own `{{$.pipeline_job_uuid}}` is filled in only from 2.5.0, see
`backend_versions`), the ML Metadata URI, the run parameters the node reads (pipeline inputs with
defaults), CPU/memory/GPU limits, the spec's environment, and in the Kubernetes platform spec
(`platforms.kubernetes`, what kfp-kubernetes writes) secrets as environment variables and the
Trainer's node selector and tolerations. No path of the compiling machine: shipped data and
schemas are named `package://…` and found in each pod's installation.
"""
from __future__ import annotations

import inspect
import json
import logging
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import yaml
from google.protobuf import json_format

from components.shipped import PACKAGE_SCHEME, package_uri
from components.sources import ClusterDataError, cluster_location, get_source
from components.validation.schemas import SCHEMAS_DIR, SCHEMAS_PACKAGE
from pipelines.factory import PipelinePlacement, create_pipeline
from pipelines.kubeflow.backend_versions import RUN_ID_PLACEHOLDER
from pipelines.kubeflow.kfp_views import METRICS, STEP_OUTPUTS
from pipelines.kubeflow.node_runner import run_parameter_defaults
from pipelines.kubeflow.resources import (
    DEFAULT_GPU_TYPE,
    component_resources,
    cpu_cores,
    join_uri,
    kubeflow_pipeline_name,
    memory_gb,
)
from pipelines.kubeflow.storage import cluster_location_problem
from pipelines.names import EVALUATOR_ID, TRAINER_ID
from pipelines.spec.errors import Problem, SpecError
from pipelines.spec.pipeline_spec import KubeflowConfig, PipelineSpec, TrainerResources

logger = logging.getLogger(__name__)

NODE_RUNNER = ["python", "-m", "pipelines.kubeflow.node_runner"]
RUN_ID_INPUT = "pipeline_run_id"
_KFP_TYPES = {int: "Integer", float: "Float", str: "String"}
# Beam flags that decide where a Beam step runs; a pod with a CPU limit runs its own workers.
_LOCAL_BEAM_RUNNERS = ("", "DirectRunner", "FnApiRunner", "BundleBasedDirectRunner")


def compile_for_kfp(
    spec: PipelineSpec,
    output_file: str,
    pipeline_root: str | None = None,
    image: str | None = None,
    data_path: str | None = None,
    gpu_image: str | None = None,
    metadata: str | None = None,
) -> dict[str, Any]:
    """Writes the KFP pipeline YAML of `spec` to `output_file` and returns its pipeline spec.

    The options override the spec's `kubeflow` section; `SpecError` for what a cluster cannot
    run (no image or root, a GPU type that is no resource name, files no pod can find).
    """
    from kfp import compiler as kfp_compiler
    from tfx.dsl.compiler import compiler as tfx_compiler

    spec = spec.for_cluster(pipeline_root=pipeline_root, image=image, gpu_image=gpu_image, metadata=metadata)
    location = pod_data_location(spec, data_path)
    root = spec.kubeflow.pipeline_root.rstrip("/")
    pipeline = create_pipeline(
        spec,
        PipelinePlacement(
            pipeline_root=root,
            serving_dir=join_uri(root, spec.push.destination),
            data=location,
            pipeline_name=kubeflow_pipeline_name(spec.id),
            schemas_dir=package_uri(SCHEMAS_PACKAGE, SCHEMAS_DIR),
            runtime_parameters=True,
            custom_resolvers=True,
        ),
    )
    ir = tfx_compiler.Compiler().compile(pipeline)
    steps = [_node_step(ir, node.pipeline_node.node_info.id, spec.kubeflow) for node in ir.nodes]
    parameters = _pipeline_parameters(steps)
    pipeline_func = _kfp_pipeline(spec, steps, parameters)
    os.makedirs(os.path.dirname(os.path.abspath(output_file)), exist_ok=True)
    kfp_compiler.Compiler().compile(pipeline_func, output_file)
    logger.debug("Wrote the Kubeflow pipeline of %s to %s", spec.id, output_file)
    with open(output_file, encoding="utf-8") as handle:
        return next(yaml.safe_load_all(handle))


def pod_data_location(spec: PipelineSpec, data_path: str | None) -> Any:
    """Where the pods read the spec's data (`--data-dir` over `data.path`); `SpecError` for a
    location no pod can open (a relative path, a scheme no filesystem reads)."""
    source = get_source(spec.data.source)
    path = data_path or spec.data.path
    if path is not None and not source.generated and not path.startswith(PACKAGE_SCHEME):
        if problem := cluster_location_problem(path):
            field = "--data-dir" if data_path else "data.path"
            raise SpecError(spec.id, [Problem("data.path", f"({field}) {problem}")])
    try:
        return cluster_location(source, path)
    except ClusterDataError as error:
        raise SpecError(spec.id, [Problem("data.path", str(error))]) from None


@dataclass(frozen=True)
class _NodeStep:
    """One TFX node as one KFP task: its id, upstream nodes, IR and run parameters."""

    node_id: str
    upstream: list[str]
    node_ir: str
    parameters: dict[str, Any]  # name -> compiled default


def _node_step(ir: Any, node_id: str, kubeflow: KubeflowConfig) -> _NodeStep:
    """The IR of `node_id` alone: the pipeline's info and runtime spec, the node, and only its
    executor and driver specs (what the node runner's launcher needs)."""
    from tfx.proto.orchestration import pipeline_pb2

    (node,) = [n for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    deployment = pipeline_pb2.IntermediateDeploymentConfig()
    ir.deployment_config.Unpack(deployment)
    own = pipeline_pb2.IntermediateDeploymentConfig()
    if node_id in deployment.executor_specs:
        own.executor_specs[node_id].CopyFrom(deployment.executor_specs[node_id])
        _set_beam_workers(own.executor_specs[node_id], component_resources(kubeflow, node_id))
    if node_id in deployment.custom_driver_specs:
        own.custom_driver_specs[node_id].CopyFrom(deployment.custom_driver_specs[node_id])
    single = pipeline_pb2.Pipeline(
        pipeline_info=ir.pipeline_info, runtime_spec=ir.runtime_spec, execution_mode=ir.execution_mode,
        nodes=[node],
    )
    single.deployment_config.Pack(own)
    node_ir = json.dumps(json_format.MessageToDict(single), separators=(",", ":"), sort_keys=True)
    return _NodeStep(node_id, sorted(node.pipeline_node.upstream_nodes), node_ir, run_parameter_defaults(single))


def beam_args_for_pod(args: list[str], cpu_limit: float | None) -> list[str]:
    """A Beam step's args in a pod: with a CPU limit and a local runner, multi-processing with one
    worker per core of the limit (Beam would otherwise count the node's cores, not the pod's)."""
    flags = dict(arg.split("=", 1) for arg in args if "=" in arg)
    if cpu_limit is None or flags.get("--runner", "") not in _LOCAL_BEAM_RUNNERS:
        return list(args)
    kept = [arg for arg in args if arg.split("=", 1)[0] not in ("--direct_running_mode", "--direct_num_workers")]
    workers = max(1, math.floor(cpu_limit))
    return [*kept, "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]


def _set_beam_workers(executor_spec: Any, resources: Any) -> None:
    from tfx.proto.orchestration import executable_spec_pb2

    beam = executable_spec_pb2.BeamExecutableSpec()
    if not executor_spec.Is(beam.DESCRIPTOR) or resources is None or not resources.cpu:
        return
    executor_spec.Unpack(beam)
    args = beam_args_for_pod(list(beam.beam_pipeline_args), cpu_cores(resources.cpu))
    del beam.beam_pipeline_args[:]
    beam.beam_pipeline_args.extend(args)
    executor_spec.Pack(beam)


def _pipeline_parameters(steps: list[_NodeStep]) -> dict[str, Any]:
    """Every run parameter of any node, with its compiled default (the spec's value)."""
    return {name: default for step in steps for name, default in step.parameters.items()}


def _component(step: _NodeStep, image: str, metadata: str, gate_metric: str) -> Callable[..., Any]:
    """The KFP component of one node: the node runner, its IR, the run parameters it reads, and
    the output artifacts the KFP UI shows for it (`kfp_views`)."""
    from kfp import components

    inputs = [{"name": RUN_ID_INPUT, "type": "String"}] + [
        {"name": name, "type": _KFP_TYPES[type(default)]} for name, default in sorted(step.parameters.items())
    ]
    args: list[Any] = ["--node-ir", step.node_ir, "--run-id", {"inputValue": RUN_ID_INPUT}, "--metadata", metadata]
    for name in sorted(step.parameters):
        args += ["--parameter", name, {"inputValue": name}]
    outputs = STEP_OUTPUTS.get(step.node_id, {})
    for name in outputs:
        args += ["--kfp-output", name, {"outputPath": name}]
    if METRICS in outputs:
        args += ["--kfp-executor-input", {"executorInput": None}]
    if step.node_id == EVALUATOR_ID:
        args += ["--gate-metric", gate_metric]
    document = {
        "name": step.node_id,
        "inputs": inputs,
        "outputs": [{"name": name, "type": kind} for name, kind in outputs.items()],
        "implementation": {"container": {"image": image, "command": NODE_RUNNER, "args": args}},
    }
    return components.load_component_from_text(yaml.safe_dump(document))


def _kfp_pipeline(spec: PipelineSpec, steps: list[_NodeStep], parameters: dict[str, Any]) -> Any:
    """The `@dsl.pipeline` function: one task per node, its pipeline parameters in its signature."""
    from kfp import dsl

    kubeflow = spec.kubeflow
    names = sorted(parameters)
    components = {
        step.node_id: _component(step, _image(kubeflow, step.node_id), kubeflow.metadata, spec.evaluation.metric)
        for step in steps
    }

    def body(*values: Any) -> None:
        given = dict(zip(names, values, strict=True))
        tasks: dict[str, Any] = {}
        for step in steps:  # the IR lists nodes in topological order
            task = components[step.node_id](
                **{RUN_ID_INPUT: RUN_ID_PLACEHOLDER}, **{name: given[name] for name in step.parameters}
            )
            task.set_display_name(step.node_id)
            task.set_caching_options(False)  # TFX caches through ML Metadata, keyed on the data too
            for upstream in step.upstream:
                task.after(tasks[upstream])
            _with_resources(task, component_resources(kubeflow, step.node_id))
            _with_retries(task, kubeflow, step.node_id)
            _with_environment(task, kubeflow, step.node_id)
            tasks[step.node_id] = task

    body.__signature__ = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=parameters[name],
                          annotation=type(parameters[name]))
        for name in names
    ])
    body.__annotations__ = {name: type(parameters[name]) for name in names}
    # No KFP pipeline root: TFX's root is in every node's IR. KFP's own (its launcher uploads each
    # task's executor-logs there from 2.5.0, with its own S3 settings, not the pods') stays the
    # installation's default, which its launcher is configured for.
    return dsl.pipeline(name=kubeflow_pipeline_name(spec.id), description=spec.description)(body)


def _image(kubeflow: KubeflowConfig, node_id: str) -> str:
    if node_id == TRAINER_ID and kubeflow.trainer.gpus and kubeflow.gpu_image:
        return kubeflow.gpu_image
    return kubeflow.image


def _with_resources(task: Any, resources: Any) -> None:
    """CPU and memory limits, and the Trainer's GPUs (count and Kubernetes resource name)."""
    if resources is None:
        return
    if resources.cpu:
        task.set_cpu_limit(f"{cpu_cores(resources.cpu):g}")
    if resources.memory:
        task.set_memory_limit(f"{round(memory_gb(resources.memory) * 1000)}M")
    if isinstance(resources, TrainerResources) and resources.gpus:
        task.set_accelerator_type(resources.gpu_type or DEFAULT_GPU_TYPE)
        task.set_accelerator_limit(resources.gpus)


def _with_retries(task: Any, kubeflow: KubeflowConfig, node_id: str) -> None:
    """The step's retry policy (Argo's retryStrategy on backends from 2.5.0): the backoff doubles."""
    retries = kubeflow.retry_count(node_id)
    if retries:
        task.set_retry(retries, backoff_duration=f"{kubeflow.retry_backoff_seconds}s", backoff_factor=2.0)


def _with_environment(task: Any, kubeflow: KubeflowConfig, node_id: str) -> None:
    """The spec's environment; secrets, node selector and tolerations as Kubernetes platform config
    (the `KubernetesExecutorConfig` fields kfp-kubernetes writes: secretAsEnv, nodeSelector,
    tolerations)."""
    for name, value in sorted(kubeflow.env.items()):
        task.set_env_variable(name, value)
    config: dict[str, Any] = {}
    if kubeflow.secret_env:
        by_secret: dict[str, list[dict[str, str]]] = {}
        for env_var, source in sorted(kubeflow.secret_env.items()):
            by_secret.setdefault(source.secret, []).append({"secretKey": source.key, "envVar": env_var})
        config["secretAsEnv"] = [{"secretName": name, "keyToEnv": keys} for name, keys in by_secret.items()]
    if node_id == TRAINER_ID:
        trainer = kubeflow.trainer
        if trainer.node_selector:
            config["nodeSelector"] = {"labels": dict(trainer.node_selector)}
        if trainer.tolerations:
            config["tolerations"] = [t.model_dump(exclude_none=True) for t in trainer.tolerations]
    if config:
        task.platform_config["kubernetes"] = config

