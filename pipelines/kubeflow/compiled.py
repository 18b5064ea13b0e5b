"""Reading a compiled Kubeflow pipeline (the PipelineJob JSON `coursepipe compile` writes).

The compiler, `coursepipe submit` and the local runner all read the same few things of a job: its
pipeline root, its inputs (the run parameters with their types and defaults), the values a run
gives them, its tasks in dependency order and each artifact's type. They live here, apart from
any one of those users.
"""
from __future__ import annotations

import os
import re
import subprocess
from typing import Any, Mapping, Sequence

import yaml

_EXPECTED = {"NUMBER_INTEGER": "a whole number", "NUMBER_DOUBLE": "a number", "BOOLEAN": "true or false"}


class CompiledPipelineError(ValueError):
    """A compiled pipeline (or a run parameter) that cannot be used: says which part and why."""


class CompiledStepError(RuntimeError):
    """A step failed as it would in its pod: the task, its exit status and the tail of its log."""

    def __init__(self, task: str, returncode: int, log_path: str, log_tail: str) -> None:
        self.task, self.returncode, self.log_path = task, returncode, log_path
        super().__init__(f"step {task} exited with status {returncode}; log: {log_path}\n{log_tail}")


# A compiled step's `python`: the image's, which here is the Python with this project installed.
_PYTHON_COMMANDS = ("python", "python3", "python3.10")
LOG_TAIL_LINES = 30


def run_logged(task_name: str, command: Sequence[str], log_path: str, python: str, cwd: str,
               env: Mapping[str, str] | None = None) -> None:
    """Runs one step's container command as its own process, its output appended to `log_path`;
    `CompiledStepError` with the log's tail when it exits non-zero."""
    command = list(command)
    if command and command[0] in _PYTHON_COMMANDS:
        command[0] = python
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command[:3])} ...\n")
        log.flush()
        completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                   env=None if env is None else dict(env), check=False)
    if completed.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = "".join(log.readlines()[-LOG_TAIL_LINES:])
        raise CompiledStepError(task_name, completed.returncode, log_path, tail)


def load_compiled(path: str) -> dict[str, Any]:
    """What `coursepipe compile` wrote: the KFP pipeline spec (YAML, `--target kubeflow`; its first
    document) or TFX's PipelineJob (JSON, `--target vertex`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = next(yaml.safe_load_all(handle), None)
    except (OSError, yaml.YAMLError) as error:
        raise CompiledPipelineError(f"{path}: cannot read a compiled pipeline: {error}") from None
    if not isinstance(document, dict) or ("pipelineSpec" not in document and "root" not in document):
        raise CompiledPipelineError(
            f"{path}: expected a compiled pipeline (a KFP pipeline spec with 'root', or a PipelineJob with "
            "'pipelineSpec'; coursepipe compile output)"
        )
    return document


def load_platform_spec(path: str) -> dict[str, Any]:
    """The Kubernetes platform spec the KFP compiler writes after the pipeline spec (the document
    with `platforms`), or {} when the pipeline has none."""
    try:
        with open(path, encoding="utf-8") as handle:
            documents = list(yaml.safe_load_all(handle))
    except (OSError, yaml.YAMLError) as error:
        raise CompiledPipelineError(f"{path}: cannot read a compiled pipeline: {error}") from None
    return next((d for d in documents[1:] if isinstance(d, dict) and "platforms" in d), {})


def as_pipeline_job(document: dict[str, Any]) -> dict[str, Any]:
    """A PipelineJob around a bare pipeline spec (TFX's runner reads `pipelineSpec` and `runtimeConfig`)."""
    return document if "pipelineSpec" in document else {"pipelineSpec": document, "runtimeConfig": {}}


def pipeline_root(job: Mapping[str, Any]) -> str:
    """The job's local pipeline root; a remote one (gs://, s3://) cannot be run here."""
    root = job.get("runtimeConfig", {}).get("gcsOutputDirectory") or job["pipelineSpec"].get(
        "defaultPipelineRoot", ""
    )
    if not root:
        raise CompiledPipelineError("runtimeConfig.gcsOutputDirectory: expected the pipeline root, found none")
    if "://" in root and not root.startswith("file://"):
        raise CompiledPipelineError(
            f"runtimeConfig.gcsOutputDirectory: {root!r} is remote; compile with "
            "--pipeline-root DIR (a local directory) to run the pipeline here"
        )
    return root.removeprefix("file://")


def pipeline_inputs(job: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline's parameters as compiled: name -> parameterType, defaultValue, description."""
    return job["pipelineSpec"]["root"].get("inputDefinitions", {}).get("parameters", {})


def run_parameters(job: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """The pipeline inputs' values: the compiled defaults, the job's runtimeConfig, then `overrides`
    (text, as typed on a command line), each converted to the input's declared type."""
    declared = pipeline_inputs(job)
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise CompiledPipelineError(f"unknown pipeline parameter(s) {', '.join(unknown)}; this pipeline has: {known}")
    values = {name: spec["defaultValue"] for name, spec in declared.items() if "defaultValue" in spec}
    values.update(job.get("runtimeConfig", {}).get("parameterValues", {}))
    values.update(overrides)
    missing = sorted(set(declared) - set(values))
    if missing:
        raise CompiledPipelineError(f"pipeline parameter(s) {', '.join(missing)} have no default; give a value")
    return {name: _typed(name, declared[name].get("parameterType", "STRING"), value) for name, value in values.items()}


def _typed(name: str, parameter_type: str, value: Any) -> Any:
    try:
        if parameter_type == "NUMBER_INTEGER":
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if parameter_type == "NUMBER_DOUBLE":
            return float(value)
        if parameter_type == "BOOLEAN":
            if isinstance(value, bool) or str(value).lower() in ("true", "false"):
                return value if isinstance(value, bool) else str(value).lower() == "true"
            raise ValueError
    except ValueError:
        raise CompiledPipelineError(
            f"pipeline parameter {name}: expected {_EXPECTED[parameter_type]}, got {value!r}"
        ) from None
    return value if parameter_type != "STRING" else str(value)


def task_order(tasks: Mapping[str, Any], executors: Mapping[str, Any] | None = None) -> list[str]:
    """The root DAG's tasks, each after every task it depends on.

    Among tasks ready at once, resolvers go first (on a cluster they resolve as the run starts,
    so they see the previous runs' artifacts, not this run's), then by name.
    """
    needs = {
        name: set(task.get("dependentTasks", []))
        | {
            inputs["taskOutputArtifact"]["producerTask"]
            for inputs in task.get("inputs", {}).get("artifacts", {}).values()
            if "taskOutputArtifact" in inputs
        }
        for name, task in tasks.items()
    }
    resolvers = {name for name, executor in (executors or {}).items() if "resolver" in executor}
    order: list[str] = []
    while len(order) < len(needs):
        ready = [name for name, wanted in needs.items() if name not in order and wanted <= set(order)]
        if not ready:
            stuck = sorted(set(needs) - set(order))
            raise CompiledPipelineError(f"root.dag.tasks: a dependency cycle among {', '.join(stuck)}")
        order.append(min(ready, key=lambda name: (name not in resolvers, name)))
    return order


def schema_title(artifact_type: Mapping[str, Any]) -> str:
    """`tfx.Model` from an artifactType: its schemaTitle, or the title of its instanceSchema."""
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    match = re.search(r"^title:\s*(\S+)", artifact_type.get("instanceSchema", ""), re.MULTILINE)
    return match.group(1) if match else "system.Artifact"
