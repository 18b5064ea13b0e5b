"""Run a pipeline compiled for open-source Kubeflow Pipelines on this machine, as the backend would.

What the KFP 2.x backend does with the YAML, this runner does here, and refuses what it refuses,
as the release it emulates (`backend_version`, default the newest checked; see `backend_versions`):
- the API server replaces `{{workflow.uid}}` anywhere in the workflow by the run's id;
- its Argo compiler implements container and importer executors only ("non-container and
  non-importer executor not implemented"), and a task depending on a task that does not exist
  is an error before anything runs;
- the driver fills each task's input parameters: a pipeline input from the run's parameters
  (defaults, then the run's values), a constant as written, except that a constant which is
  exactly one of KFP's run placeholders (`{{$.pipeline_job_uuid}}`, ...) becomes its value;
- the launcher puts the input parameters into the container's arguments
  (`{{$.inputs.parameters['train_epochs']}}`; numbers as Go formats them: 500, 0.9) and the
  output artifacts' local paths and URIs and the executor input (`{{$}}`), runs the container's
  own command in its own process, with the container's environment, then stores the output
  artifacts under KFP's root and records them (`kfp_artifacts`);
- a task starts when every task it depends on succeeded; independent tasks run in parallel;
  a failed task is started again as its `retryPolicy` says (from 2.5.0: Argo's retryStrategy,
  after the backoff); when its last try fails, nothing new starts, what runs finishes, and the
  run fails;
- the Kubernetes platform spec is read as the release's proto reads it: 2.0.x has no
  `tolerations` and refuses them.

Steps share only what pods share: the pipeline root and the ML Metadata store the compiled
pipeline names (a SQLite file here, MySQL or the metadata gRPC service on a cluster), and the
environment this command runs in stands for the pods' (credentials that the cluster injects from
secrets). Not emulated: the image (steps run with this Python and this installation of the
project), resource limits, node selection.
"""
from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from pipelines.kubeflow import backend_versions
from pipelines.kubeflow.backend_versions import NEWEST_CHECKED, RUN_ID_PLACEHOLDER, Version, format_version, has
from pipelines.kubeflow.compiled import CompiledPipelineError, CompiledStepError, run_logged, run_parameters
from pipelines.kubeflow.filesystems import load_filesystems_for
from pipelines.kubeflow.kfp_artifacts import DEFAULT_KFP_ROOT, KfpArtifact, TaskOutputs, output_types, write_records
from pipelines.kubeflow.metadata_address import MetadataAddress

if TYPE_CHECKING:
    from pipelines.runs.summary import RunSummary

logger = logging.getLogger(__name__)

_INPUT_PARAMETER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{\$[^}]*\}\}")  # `{{$}}` too: filled only where it is a whole argument


@dataclass(frozen=True)
class StepResult:
    task: str
    display_name: str
    seconds: float
    attempts: int = 1


@dataclass
class KfpRun:
    """One run of a compiled pipeline: its id (what the backend puts for `{{workflow.uid}}` and
    `{{$.pipeline_job_uuid}}`), parameters, the folder of its step logs, the pipeline spec as the
    API server stored it for this run, and each finished step in the order it finished."""

    run_id: str
    parameters: dict[str, Any]
    log_dir: str
    spec: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    artifacts: list[KfpArtifact] = field(default_factory=list)  # the steps' KFP output artifacts

    @property
    def object_store(self) -> str:
        """The folder standing for the object store behind KFP's root (`minio://BUCKET/KEY`)."""
        return os.path.join(self.log_dir, "object-store")


def is_kfp_pipeline(document: Mapping[str, Any]) -> bool:
    """A KFP SDK pipeline spec (what `--target kubeflow` writes), not TFX's Vertex PipelineJob."""
    return "pipelineSpec" not in document and "deploymentSpec" in document and "root" in document


class KfpPipelineRunner:
    """Runs the tasks of one compiled pipeline spec; see the module docstring."""

    def __init__(self, spec: dict[str, Any], python: str = sys.executable, parallelism: int | None = None,
                 backend_version: Version = NEWEST_CHECKED, platform_spec: Mapping[str, Any] | None = None) -> None:
        self.spec = spec
        self.name = spec["pipelineInfo"]["name"]
        self.python = python
        self.parallelism = parallelism or max(2, os.cpu_count() or 2)
        self.backend_version = backend_version
        self.platform_spec = platform_spec or {}
        self.tasks: dict[str, Any] = spec["root"].get("dag", {}).get("tasks", {})
        self._check_as_the_backend_does()

    def _check_as_the_backend_does(self) -> None:
        executors = self.spec.get("deploymentSpec", {}).get("executors", {})
        for name, task in self.tasks.items():
            component = self.spec["components"].get(task["componentRef"]["name"])
            if component is None:
                raise CompiledPipelineError(f"task {name}: component {task['componentRef']['name']} is not defined")
            if "dag" in component:
                raise CompiledPipelineError(f"task {name}: nested DAGs are not supported by this runner")
            executor = executors.get(component.get("executorLabel", ""), {})
            if "container" not in executor:
                kind = ", ".join(executor) or "none"
                raise CompiledPipelineError(
                    f"task {name}: executor {component.get('executorLabel')} is {kind}; the open-source KFP "
                    "backend refuses it (non-container and non-importer executor not implemented)"
                )
            for upstream in task.get("dependentTasks", []):
                if upstream not in self.tasks:
                    raise CompiledPipelineError(f"task {name}: depends on task {upstream}, which does not exist")
        kubernetes = self.platform_spec.get("platforms", {}).get("kubernetes", {})
        for label, config in kubernetes.get("deploymentSpec", {}).get("executors", {}).items():
            if "tolerations" in config and not has(self.backend_version, backend_versions.TOLERATIONS):
                raise CompiledPipelineError(
                    f"platforms.kubernetes: executor {label}: KFP backend {format_version(self.backend_version)} "
                    'refuses the platform spec (unknown field "tolerations"); tolerations need backend '
                    f"{format_version(backend_versions.TOLERATIONS)} or newer"
                )

    def _container(self, task_name: str, spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The task's container as compiled, or as `spec` (a run's stored spec) holds it."""
        spec = spec or self.spec
        component = spec["components"][spec["root"]["dag"]["tasks"][task_name]["componentRef"]["name"]]
        return spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]

    def run(self, parameter_overrides: Mapping[str, str] | None = None, log_dir: str | None = None) -> KfpRun:
        """Runs every task; raises `CompiledStepError` for the first that fails."""
        parameters = run_parameters({"pipelineSpec": self.spec}, parameter_overrides or {})
        run_id = str(uuid.uuid4())
        # The API server's ReplaceUID: a plain text replacement over the whole stored workflow.
        stored = json.loads(json.dumps(self.spec).replace(RUN_ID_PLACEHOLDER, run_id))
        run = KfpRun(run_id, parameters, log_dir or os.path.join("runs", "compiled", self.name, run_id), stored)
        os.makedirs(run.log_dir, exist_ok=True)
        waiting = {name: set(task.get("dependentTasks", [])) for name, task in self.tasks.items()}
        done: set[str] = set()
        failure: CompiledStepError | None = None
        with concurrent.futures.ThreadPoolExecutor(self.parallelism) as pool:
            running: dict[concurrent.futures.Future[StepResult], str] = {}
            while waiting or running:
                if failure is None:
                    for name in sorted(n for n, needs in waiting.items() if needs <= done):
                        del waiting[name]
                        running[pool.submit(self._run_task, run, name)] = name
                if not running:
                    break
                finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        run.steps.append(future.result())
                        done.add(name)
                    except CompiledStepError as error:
                        failure = failure or error
        write_records(run.log_dir, run.artifacts)
        if failure is not None:
            raise failure
        if waiting:
            raise CompiledPipelineError(f"root.dag.tasks: a dependency cycle among {', '.join(sorted(waiting))}")
        return run

    def metadata_address(self) -> MetadataAddress:
        """The ML Metadata store the steps use (their `--metadata` argument)."""
        for task_name in self.tasks:
            args = self._container(task_name).get("args", [])
            if "--metadata" in args[:-1]:
                return MetadataAddress.parse(args[args.index("--metadata") + 1])
        raise CompiledPipelineError("no step names an ML Metadata store (--metadata); not a coursepipe pipeline")

    def run_summary(self, run: KfpRun) -> RunSummary:
        """What the run did, read back from the steps' ML Metadata (executed, cached, blessed, pushed)."""
        from pipelines.runs.summary import summary_of_run

        # The evaluation is read from the pipeline root, as the steps reach it: with their
        # environment (an S3 endpoint compiled in with --env) over this command's.
        for task_name in self.tasks:
            os.environ.update(self._environment(task_name, run.spec))
        load_filesystems_for(json.dumps(self.spec))
        return summary_of_run(self.metadata_address().connection_config(), run.run_id)

    def _environment(self, task_name: str, spec: Mapping[str, Any]) -> dict[str, str]:
        """The container's own environment variables (the spec's `kubeflow.env`)."""
        return {variable["name"]: variable["value"] for variable in self._container(task_name, spec).get("env", [])}

    def _task_parameters(self, run: KfpRun, task_name: str) -> dict[str, Any]:
        """The task's input parameters, as the KFP driver resolves them."""
        system = {
            "{{$.pipeline_job_uuid}}": run.run_id,
            "{{$.pipeline_job_name}}": f"{self.name}-{run.run_id[:8]}",
            "{{$.pipeline_job_resource_name}}": f"run-{run.run_id}",
            "{{$.pipeline_task_name}}": task_name,
            "{{$.pipeline_task_uuid}}": f"{task_name}-{run.run_id[:8]}",
        }
        if not has(self.backend_version, backend_versions.RUN_PLACEHOLDERS_IN_CONSTANTS):
            system = {}  # before 2.5.0 the driver passes such a constant on as it is written
        values = {}
        task = run.spec["root"]["dag"]["tasks"][task_name]
        for key, source in task.get("inputs", {}).get("parameters", {}).items():
            if "componentInputParameter" in source:
                values[key] = run.parameters[source["componentInputParameter"]]
            elif "constant" in source.get("runtimeValue", {}):
                constant = source["runtimeValue"]["constant"]
                values[key] = system.get(constant, constant) if isinstance(constant, str) else constant
            else:
                raise CompiledPipelineError(
                    f"task {task_name}: parameter {key}: expected a pipeline input or a constant, "
                    f"got {json.dumps(source)} (not supported by this runner)"
                )
        return values

    def _outputs(self, run: KfpRun, task_name: str) -> TaskOutputs:
        component = self.spec["components"][self.tasks[task_name]["componentRef"]["name"]]
        return TaskOutputs(task_name, output_types(component), f"{DEFAULT_KFP_ROOT}/{self.name}/{run.run_id}/{task_name}",
                           os.path.join(run.log_dir, "pods", task_name))

    def _command_line(self, run: KfpRun, task_name: str, outputs: TaskOutputs) -> list[str]:
        """The container's command and arguments with the input parameters and the output
        artifacts' placeholders filled in."""
        container = self._container(task_name, run.spec)
        values = self._task_parameters(run, task_name)
        filled = outputs.placeholders(values)
        args = []
        for arg in container.get("args", []):
            if arg in filled:
                args.append(filled[arg])
                continue
            if unresolved := _ANY_PLACEHOLDER.search(_INPUT_PARAMETER.sub("", arg)):
                raise CompiledPipelineError(f"task {task_name}: placeholder {unresolved.group(0)} is not "
                                            "supported by this runner")
            args.append(_INPUT_PARAMETER.sub(lambda match: _as_argument(task_name, values, match.group(1)), arg))
        return [*container.get("command", []), *args]

    def retry_policy(self, task_name: str) -> RetryPolicy:
        """How often the backend starts the task again after a failure, and how long it waits."""
        policy = self.tasks[task_name].get("retryPolicy")
        if policy is None or not has(self.backend_version, backend_versions.RETRY_POLICY):
            return RetryPolicy(0)
        return RetryPolicy(int(policy.get("maxRetryCount", 0)), _seconds(policy.get("backoffDuration", "0s")),
                           float(policy.get("backoffFactor", 2.0)), _seconds(policy.get("backoffMaxDuration", "3600s")))

    def _run_task(self, run: KfpRun, task_name: str) -> StepResult:
        outputs = self._outputs(run, task_name)
        command = self._command_line(run, task_name, outputs)
        outputs.prepare()
        environment = {**os.environ, **self._environment(task_name, run.spec)}
        display_name = self.tasks[task_name].get("taskInfo", {}).get("name", task_name)
        log_path = os.path.join(run.log_dir, f"{task_name}.log")
        policy = self.retry_policy(task_name)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            logger.info("%s: %s started (try %d of %d)", run.run_id, task_name, attempt, policy.max_retries + 1)
            try:
                run_logged(task_name, command, log_path, self.python, cwd=run.log_dir, env=environment)
                break
            except CompiledStepError:
                if attempt > policy.max_retries:
                    raise
                delay = policy.delay_before(attempt)
                logger.warning("%s: %s failed (try %d of %d); retrying in %.0f s", run.run_id, task_name, attempt,
                               policy.max_retries + 1, delay)
                time.sleep(delay)
            finally:
                logger.info("%s: %s ended after %.1f s", run.run_id, task_name, time.monotonic() - started)
        run.artifacts.extend(outputs.upload(run.object_store))
        return StepResult(task_name, display_name, time.monotonic() - started, attempt)


@dataclass(frozen=True)
class RetryPolicy:
    """A task's `retryPolicy` as Argo applies it: up to `max_retries` more tries, the n-th after
    `backoff * factor**(n-1)` seconds, never more than `max_backoff`."""

    max_retries: int
    backoff: float = 0.0
    factor: float = 2.0
    max_backoff: float = 3600.0

    def delay_before(self, retry: int) -> float:
        return min(self.backoff * self.factor ** (retry - 1), self.max_backoff)


def _seconds(duration: str) -> float:
    """A protobuf Duration as KFP writes it in YAML (`30s`, `0.5s`)."""
    return float(str(duration).removesuffix("s") or 0)


def _as_argument(task_name: str, values: Mapping[str, Any], name: str) -> str:
    """A parameter as KFP's launcher writes it into an argument: numbers as Go's
    `strconv.FormatFloat(v, 'f', -1, 64)` (500, 0.9), booleans as true/false, text as it is."""
    if name not in values:
        raise CompiledPipelineError(f"task {task_name}: argument uses parameter {name!r}, which the task lacks")
    value = values[name]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return value if isinstance(value, str) else json.dumps(value)
