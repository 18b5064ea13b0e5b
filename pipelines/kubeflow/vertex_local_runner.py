"""Run a compiled Kubeflow Pipelines v2 JSON on this machine, step by step, as a cluster would.

Compiling proves little: a pipeline can compile and still fail in its first pod. This runner
executes what the cluster would execute. Each task of the root DAG runs in dependency order as
its own process, with its container's command and arguments from `deploymentSpec` (TFX's
`kubeflow_v2_run_executor` entrypoint and the executor class the compiler chose) and the
`ExecutorInput` the KFP driver builds: input artifacts as the producers' executor output
described them, typed as the consumer's inputs spec says; `parameterValues` from the task's
constants and the run's pipeline parameters; output artifacts under the pipeline root; and the
output file the executor writes back. A step's `preCacheCheck` (FileBasedExampleGen's span and
fingerprint driver) runs first with the same input. Resolver tasks answer their compiled
artifact filters from a ledger of the artifacts this runner's steps produced, kept in the
pipeline root: the stand-in for the cluster's ML Metadata, so a second run finds the first
run's blessed model and statistics.

Not emulated, and said so: caching (every step executes), resource limits and GPUs, and the
image itself (steps run in this Python, with this project installed; `mounts` maps paths inside
the image, such as the shipped schemas, to their copies here).
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from pipelines.kubeflow.compiled import (
    CompiledPipelineError,
    pipeline_root,
    run_logged,
    run_parameters,
    schema_title,
    task_order,
)
from pipelines.kubeflow.ledger import LEDGER_FILE, ArtifactLedger

logger = logging.getLogger(__name__)

EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"
_PLACEHOLDER = re.compile(r"\{\{\$[^}]*\}\}")
_INPUT_METADATA = re.compile(r"\{\{\$\.inputs\.artifacts\['([^']+)'\]\.metadata\['([^']+)'\]\}\}")


@dataclass(frozen=True)
class CompiledStep:
    task: str
    kind: str  # "container" or "resolver"
    seconds: float
    outputs: dict[str, list[str]]  # output key -> artifact URIs


@dataclass
class CompiledRun:
    """One run of a compiled pipeline: its id, where its files went, each step's result."""

    run_id: str
    run_dir: str
    parameters: dict[str, Any]
    steps: list[CompiledStep] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)  # ledger records of this run

    def artifact_metadata(self, schema_title: str) -> list[dict[str, Any]]:
        """The metadata of each artifact of that type this run published (e.g. `tfx.ModelBlessing`)."""
        return [record.get("metadata", {}) for record in self.published if record["schemaTitle"] == schema_title]


class CompiledPipelineRunner:
    """Runs one compiled job's tasks; see the module docstring for what a step receives."""

    def __init__(self, job: dict[str, Any], mounts: Mapping[str, str] | None = None,
                 python: str = sys.executable) -> None:
        self.job = job
        self.spec = job["pipelineSpec"]
        self.root = pipeline_root(job)
        self.name = self.spec["pipelineInfo"]["name"]
        self.mounts = dict(mounts or {})
        self.python = python
        self.ledger = ArtifactLedger(os.path.join(self.root, self.name, LEDGER_FILE))
        self.outputs: dict[str, dict[str, list[dict[str, Any]]]] = {}  # task -> key -> artifacts

    def run(self, parameter_overrides: Mapping[str, str] | None = None) -> CompiledRun:
        parameters = run_parameters(self.job, parameter_overrides or {})
        self.outputs = {}
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        run = CompiledRun(run_id, os.path.join(self.root, self.name, run_id), parameters)
        tasks = self.spec["root"]["dag"]["tasks"]
        executors = {name: self._executor(name, self._component(task)) for name, task in tasks.items()}
        for task_name in task_order(tasks, executors):
            started = time.monotonic()
            kind = self._run_task(run, task_name, tasks[task_name], executors[task_name])
            outputs = {key: [a["uri"] for a in artifacts if a.get("uri")]
                       for key, artifacts in self.outputs[task_name].items()}
            run.steps.append(CompiledStep(task_name, kind, time.monotonic() - started, outputs))
            logger.info("%s: %s done in %.1f s", run_id, task_name, run.steps[-1].seconds)
        return run

    def _component(self, task: Mapping[str, Any]) -> dict[str, Any]:
        return self.spec["components"][task["componentRef"]["name"]]

    def _executor(self, task_name: str, component: Mapping[str, Any]) -> dict[str, Any]:
        if "dag" in component:
            raise CompiledPipelineError(f"task {task_name}: nested DAGs are not supported by this runner")
        return self.spec["deploymentSpec"]["executors"][component["executorLabel"]]

    def _input_artifacts(self, task_name: str, task: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        declared = self._component(task).get("inputDefinitions", {}).get("artifacts", {})
        inputs: dict[str, list[dict[str, Any]]] = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            if "taskOutputArtifact" not in source:
                raise CompiledPipelineError(f"task {task_name}: input {key}: only task outputs are supported")
            producer = source["taskOutputArtifact"]
            artifacts = self.outputs[producer["producerTask"]].get(producer["outputArtifactKey"], [])
            artifact_type = declared.get(key, {}).get("artifactType", {})
            inputs[key] = [{**artifact, "type": artifact_type} for artifact in artifacts]
        return inputs

    def _run_task(self, run: CompiledRun, task_name: str, task: Mapping[str, Any],
                  executor: Mapping[str, Any]) -> str:
        component = self._component(task)
        inputs = self._input_artifacts(task_name, task)
        if "resolver" in executor:
            self.outputs[task_name] = self._resolve(task_name, executor["resolver"], inputs)
            return "resolver"
        if "container" not in executor:
            raise CompiledPipelineError(
                f"task {task_name}: executor kind {', '.join(executor)} is not supported (container, resolver)"
            )
        task_dir = os.path.join(run.run_dir, task_name)
        executor_input = self._executor_input(run, task_name, task, component, inputs, task_dir)
        container = executor["container"]
        pre_cache_check = container.get("lifecycle", {}).get("preCacheCheck")
        log_path = os.path.join(task_dir, "log.txt")
        if pre_cache_check:
            self._execute(task_name, pre_cache_check, executor_input, log_path)
        self._execute(task_name, container, executor_input, log_path)
        self.outputs[task_name] = self._published_outputs(run, task_name, executor_input)
        return "container"

    def _executor_input(self, run: CompiledRun, task_name: str, task: Mapping[str, Any],
                        component: Mapping[str, Any], inputs: dict[str, list[dict[str, Any]]],
                        task_dir: str) -> dict[str, Any]:
        parameter_values = {}
        for key, source in task.get("inputs", {}).get("parameters", {}).items():
            if "componentInputParameter" in source:
                parameter_values[key] = run.parameters[source["componentInputParameter"]]
            elif "constant" in source.get("runtimeValue", {}):
                parameter_values[key] = self._mounted(source["runtimeValue"]["constant"])
            else:
                raise CompiledPipelineError(
                    f"task {task_name}: parameter {key}: expected a constant or a pipeline parameter, got "
                    f"{json.dumps(source)} (schema 2.0's 'constantValue' is not read here; "
                    "`coursepipe compile` writes schema 2.1)"
                )
        outputs = {
            key: {"artifacts": [{
                "name": f"artifacts/{run.run_id}/{task_name}/{key}",
                "uri": os.path.join(task_dir, key),
                "type": definition["artifactType"],
                "metadata": {},
            }]}
            for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items()
        }
        return {
            "inputs": {"artifacts": {key: {"artifacts": artifacts} for key, artifacts in inputs.items()},
                       "parameterValues": parameter_values},
            "outputs": {"artifacts": outputs, "outputFile": os.path.join(task_dir, "executor_output.json")},
        }

    def _mounted(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for image_path, local_path in self.mounts.items():
            value = value.replace(image_path, local_path)
        return value

    def _execute(self, task_name: str, container: Mapping[str, Any], executor_input: dict[str, Any],
                 log_path: str) -> None:
        """One container command, as the pod would run it, with `{{$}}` filled in."""
        serialized = json.dumps(executor_input)
        args = []
        for arg in container.get("args", []):
            arg = arg.replace(EXECUTOR_INPUT_PLACEHOLDER, serialized)
            if unresolved := _PLACEHOLDER.search(arg):
                raise CompiledPipelineError(f"task {task_name}: placeholder {unresolved.group(0)} is not supported")
            args.append(arg)
        run_logged(task_name, [*container.get("command", []), *args], log_path, self.python,
                   cwd=os.path.dirname(log_path))

    def _published_outputs(self, run: CompiledRun, task_name: str,
                           executor_input: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The step's outputs as its executor output describes them (metadata such as span and
        split_names), recorded in the ledger."""
        written: dict[str, Any] = {}
        output_file = executor_input["outputs"]["outputFile"]
        if os.path.exists(output_file):
            with open(output_file, encoding="utf-8") as handle:
                written = json.load(handle).get("artifacts", {})
        published = {}
        for key, declared in executor_input["outputs"]["artifacts"].items():
            artifacts = []
            for index, artifact in enumerate(declared["artifacts"]):
                reported = written.get(key, {}).get("artifacts", [])
                merged = {**artifact, **(reported[index] if index < len(reported) else {})}
                merged.pop("type", None)
                title = schema_title(artifact["type"])
                run.published.append(self.ledger.add(merged, title, task_name, run.run_id))
                artifacts.append(merged)
            published[key] = artifacts
        return published

    def _resolve(self, task_name: str, resolver: Mapping[str, Any],
                 inputs: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        resolved = {}
        for key, query in resolver.get("outputArtifactQueries", {}).items():
            expression = query.get("filter", "")
            if any(not inputs.get(match.group(1)) for match in _INPUT_METADATA.finditer(expression)):
                resolved[key] = []  # what it would refer to resolved to nothing
                continue
            expression = _INPUT_METADATA.sub(
                lambda match: str(inputs[match.group(1)][0].get("metadata", {}).get(match.group(2), "")), expression
            )
            match = self.ledger.latest(task_name, expression)
            resolved[key] = [] if match is None else [
                {k: match[k] for k in ("name", "uri", "metadata") if k in match}
            ]
        return resolved
