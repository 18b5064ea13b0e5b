"""Compile a pipeline for Vertex AI Pipelines: TFX's `KubeflowV2DagRunner` JSON, GPU on the Trainer.

Vertex runs what TFX's Kubeflow v2 compiler writes: resolver tasks, TFX's own v2 entrypoint in each
container, the ExampleGen's pre-cache check. The open-source KFP backend runs none of those;
`pipelines.kubeflow.kfp_compiler` compiles for it.

Compiling touches neither the pipeline root (it may be `gs://…` or `s3://…`) nor any cluster:
modules are named by dotted path, so nothing is packaged into the root.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.base.base_component import BaseComponent
from tfx.orchestration.data_types import RuntimeParameter
from tfx.orchestration.kubeflow.v2.kubeflow_v2_dag_runner import KubeflowV2DagRunner, KubeflowV2DagRunnerConfig
from tfx.orchestration.kubeflow.v2.pipeline_builder import DEFAULT_IMAGE_PATH_KEY
from tfx.orchestration.pipeline import Pipeline

from components.sources import declared_location, get_source
from pipelines.factory import PipelinePlacement, create_pipeline
from pipelines.kubeflow.compiled import pipeline_inputs
from pipelines.kubeflow.resources import (
    DEFAULT_GPU_TYPE,
    component_resources,
    cpu_cores,
    join_uri,
    kubeflow_pipeline_name,
    memory_gb,
)
from pipelines.names import TRAINER_ID
from pipelines.spec.pipeline_spec import VERTEX_TARGET, ComponentResources, KubeflowConfig, PipelineSpec, TrainerResources

logger = logging.getLogger(__name__)

ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec
# The shipped curated schemas inside the images (the Dockerfiles' WORKDIR + pipelines/schemas),
# where ImportSchemaGen reads them on Vertex.
IMAGE_SCHEMAS_DIR = "/opt/course-pipelines/pipelines/schemas"


def resource_spec(resources: ComponentResources | None) -> ResourceSpec | None:
    """A component's ResourceSpec (GPUs for the Trainer's); None when the spec asks for nothing."""
    spec = ResourceSpec()
    if resources is None:
        return None
    if resources.cpu:
        spec.cpu_limit = cpu_cores(resources.cpu)
    if resources.memory:
        spec.memory_limit = memory_gb(resources.memory)
    if isinstance(resources, TrainerResources) and resources.gpus:
        spec.accelerator.type = resources.gpu_type or DEFAULT_GPU_TYPE
        spec.accelerator.count = resources.gpus
    return spec if spec.ByteSize() else None


def component_images(kubeflow: KubeflowConfig) -> str | dict[str, str]:
    """One image for every component, or a map that gives the GPU Trainer its CUDA image.

    `KubeflowV2DagRunnerConfig(default_image=...)` takes a map of component id to image, where the
    key `default_image_path` covers the components not named.
    """
    if not kubeflow.trainer.gpus or not kubeflow.gpu_image:
        return kubeflow.image
    return {DEFAULT_IMAGE_PATH_KEY: kubeflow.image, TRAINER_ID: kubeflow.gpu_image}


def compile_for_vertex(
    spec: PipelineSpec,
    output_file: str,
    pipeline_root: str | None = None,
    image: str | None = None,
    data_path: str | None = None,
    gpu_image: str | None = None,
) -> dict[str, Any]:
    """Writes the Kubeflow v2 pipeline JSON for `spec` to `output_file` and returns it.

    `pipeline_root`, `image` and `gpu_image` override the spec's `kubeflow` section; one of the two
    must name each (the GPU image only when the Trainer requests GPUs).
    """
    spec = spec.for_cluster(pipeline_root=pipeline_root, image=image, gpu_image=gpu_image, target=VERTEX_TARGET)

    pipeline = create_pipeline(
        spec,
        PipelinePlacement(
            pipeline_root=spec.kubeflow.pipeline_root,
            serving_dir=join_uri(spec.kubeflow.pipeline_root, spec.push.destination),
            data=declared_location(get_source(spec.data.source), data_path or spec.data.path),
            pipeline_name=kubeflow_pipeline_name(spec.id),
            schemas_dir=IMAGE_SCHEMAS_DIR,
            runtime_parameters=True,
        ),
    )
    for component in pipeline.components:
        if not isinstance(component, BaseComponent):
            continue  # resolvers run in the orchestrator, not in a pod of their own
        resources = resource_spec(component_resources(spec.kubeflow, component.id))
        if resources is not None:
            component.with_platform_config(resources)

    parameters = runtime_parameters(pipeline)
    runner = KubeflowV2DagRunner(
        config=KubeflowV2DagRunnerConfig(
            default_image=component_images(spec.kubeflow),
            # Schema 2.1: parameters travel as `parameterValues` with each step's inputs spec, which
            # is what the KFP v2 backend's launcher sends; TFX's 2.0 output reads the legacy
            # `parameters` field only, and its executors would see no execution properties.
            use_pipeline_spec_2_1=True,
        ),
    )
    compiled = runner.run(
        pipeline, parameter_values={name: p.default for name, p in parameters.items()}, write_out=False
    )
    with_parameter_defaults(compiled, parameters)
    os.makedirs(os.path.dirname(os.path.abspath(output_file)), exist_ok=True)
    with open(output_file, "w", encoding="utf-8") as handle:
        json.dump(compiled, handle, indent=2, sort_keys=True)
    logger.debug("Wrote the Kubeflow pipeline of %s to %s", spec.id, output_file)
    return compiled


def runtime_parameters(pipeline: Pipeline) -> dict[str, RuntimeParameter]:
    """The pipeline's RuntimeParameters by name (the compiler makes each a pipeline input)."""
    return {
        value.name: value
        for component in pipeline.components
        for value in component.exec_properties.values()
        if isinstance(value, RuntimeParameter)
    }


def with_parameter_defaults(compiled: dict[str, Any], parameters: dict[str, RuntimeParameter]) -> None:
    """Writes each parameter's default and description into the pipeline's inputs.

    TFX 1.16 drops both (it puts defaults only into this job's `runtimeConfig`); a KFP server
    shows the pipeline inputs' `defaultValue` in its run form and uses it when a run leaves the
    parameter out, which is how the KFP SDK compiles pipeline parameters.
    """
    inputs = pipeline_inputs(compiled)
    for name, parameter in parameters.items():
        inputs[name].update(defaultValue=parameter.default, isOptional=True)
        if parameter.description:
            inputs[name]["description"] = parameter.description

