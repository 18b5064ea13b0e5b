"""What a local run produced, read back from its ML Metadata store.

The runner itself returns nothing, so the CLI and the tests ask ML Metadata: which components
ran or came from cache in the latest run, the evaluation metrics and thresholds, whether the model
was blessed, and where it was pushed.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import ml_metadata as mlmd
import tensorflow_model_analysis as tfma
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.orchestration.portable.mlmd import execution_lib
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.pusher import ALREADY_PUSHED_KEY
from components.validation.anomalies import anomaly_rows
from components.validation.component import ANOMALIES_FILE
from components.validation.html_view import REPORT_FILE
from modules.spec_sections import searched_values
from modules.warm_start import WARM_START_FILE
from pipelines.names import EXAMPLE_VALIDATOR_ID, STATISTICS_GEN_ID
from pipelines.runs.lock import is_locked

PIPELINE_RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"
# Resolver nodes only look up artifacts (the baseline model); they are not components and
# record an execution on every run, cached or not.
RESOLVER_EXECUTION_TYPE = "tfx.dsl.components.common.resolver.Resolver"
Execution = metadata_store_pb2.Execution


@dataclass
class RunSummary:
    run_id: str
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # failed component -> why (its exception)
    # Components that started and never finished: the run was killed (SIGKILL, power, OOM).
    interrupted: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)  # started, not finished, and the run goes on
    metrics: dict[str, float] = field(default_factory=dict)
    metric_changes: dict[str, float] = field(default_factory=dict)
    # Per slice of evaluation.slices ("species=2"): the candidate's metrics.
    slice_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    validation_ok: bool | None = None
    validation_failures: list[str] = field(default_factory=list)
    blessed: bool | None = None
    pushed_destination: str | None = None
    already_pushed: bool = False  # the same model was already served there; nothing was copied
    span: int | None = None
    started_ms: int = 0
    model_run_dir: str | None = None  # the Trainer's curves.png, history.json, TensorBoard logs
    # Data anomalies the ExampleValidator let pass (the spec's warnings), and its HTML view.
    data_warnings: list[str] = field(default_factory=list)
    validation_report: str | None = None
    statistics_uri: str | None = None  # StatisticsGen's output (Transform's statistics have the same type)
    evaluation_uri: str | None = None
    warm_start: str | None = None  # what a warm-started Trainer began from, or why it could not
    # The Tuner's trials (`trial_id`, `score`, the hyperparameters), best first, and the winner.
    tuning_trials: list[dict] = field(default_factory=list)
    tuned_hyperparameters: dict | None = None

    def slices_worst_first(self, metric: str, higher_is_better: bool) -> list[tuple[str, float]]:
        """(slice, value of `metric`) for every slice that has it, the worst first."""
        values = [(name, metrics[metric]) for name, metrics in self.slice_metrics.items() if metric in metrics]
        return sorted(values, key=lambda item: (item[1] if higher_is_better else -item[1], item[0]))


def _store(metadata_path: str) -> mlmd.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return mlmd.MetadataStore(config)


def _node_ids(store: mlmd.MetadataStore, executions: list[Execution]) -> dict[int, str]:
    """Execution id -> component id, from the `node` contexts (named `<pipeline>.<node>`)."""
    names = {}
    for execution in executions:
        for context in store.get_contexts_by_execution(execution.id):
            if store.get_context_types_by_id([context.type_id])[0].name == NODE_CONTEXT:
                names[execution.id] = context.name.split(".", 1)[-1]
    return names


def slice_name(slice_key: Any) -> str:
    """`species=2` for TFMA's slice key of one value (`a=1, b=2` for several); '' for the overall slice."""
    values = [(key.column, getattr(key, key.WhichOneof("kind"))) for key in slice_key.single_slice_keys]
    return ", ".join(f"{column}={value.decode() if isinstance(value, bytes) else value}" for column, value in values)


def _read_evaluation(uri: str, summary: RunSummary) -> None:
    for metrics_for_slice in tfma.load_metrics(uri):
        name = slice_name(metrics_for_slice.slice_key)
        for item in metrics_for_slice.metric_keys_and_values:
            key = item.key
            if key.model_name not in ("", "candidate") or not item.value.HasField("double_value"):
                continue
            if name:
                if not key.is_diff:
                    summary.slice_metrics.setdefault(name, {})[key.name] = item.value.double_value.value
                continue
            target = summary.metric_changes if key.is_diff else summary.metrics
            target[key.name] = item.value.double_value.value
    validation = tfma.load_validation_result(uri)
    summary.validation_ok = validation.validation_ok
    for failure in validation.metric_validations_per_slice:
        where = slice_name(failure.slice_key)
        for item in failure.failures:
            message = item.message or _failed_bound(item)
            summary.validation_failures.append(f"slice {where}: {message}" if where else message)


def _failed_bound(failure: Any) -> str:
    """`sparse_categorical_accuracy 0.7143, expected >= 0.999` for a value threshold TFMA reported
    without a message; the metric's name for anything else."""
    name, bound = failure.metric_key.name, failure.metric_threshold.value_threshold
    if not failure.metric_value.HasField("double_value") or not failure.metric_threshold.HasField("value_threshold"):
        return name
    expected = [f">= {bound.lower_bound.value:g}" if bound.HasField("lower_bound") else "",
                f"<= {bound.upper_bound.value:g}" if bound.HasField("upper_bound") else ""]
    return f"{name} {failure.metric_value.double_value.value:.4f}, expected {' and '.join(e for e in expected if e)}"


# What TFX's Tuner writes into its two output artifacts.
BEST_HYPERPARAMETERS_FILE = "best_hyperparameters.txt"
TUNER_RESULTS_FILE = "tuner_results.json"


def _read_warm_start(model_run_dir: str) -> str | None:
    path = os.path.join(model_run_dir, WARM_START_FILE)
    if not io_utils.fileio.exists(path):
        return None
    return json.loads(io_utils.read_string_file(path))["reason"]


def _read_anomalies(artifact: metadata_store_pb2.Artifact, summary: RunSummary) -> None:
    """The ExampleValidator's anomalies that passed as warnings, and its HTML view."""
    summary.validation_report = os.path.join(artifact.uri, REPORT_FILE)
    splits = json.loads(artifact.properties["split_names"].string_value or "[]")
    for split in splits:
        path = os.path.join(artifact.uri, f"Split-{split}", ANOMALIES_FILE)
        if os.path.exists(path):
            anomalies = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))
            summary.data_warnings += [str(row) for row in anomaly_rows(anomalies, split)]


def runs_oldest_first(store: mlmd.MetadataStore) -> list[metadata_store_pb2.Context]:
    return sorted(store.get_contexts_by_type(PIPELINE_RUN_CONTEXT),
                  key=lambda context: (context.create_time_since_epoch, context.id))


def _resolver_type_ids(store: mlmd.MetadataStore) -> set[int]:
    return {t.id for t in store.get_execution_types() if t.name == RESOLVER_EXECUTION_TYPE}


def latest_run_summary(metadata_path: str) -> RunSummary:
    """Summary of the latest pipeline run recorded in `metadata_path` (only that run is read)."""
    store = _store(metadata_path)
    runs = runs_oldest_first(store)
    if not runs:
        raise LookupError(f"{metadata_path}: no pipeline run recorded")
    return _summarize(store, runs[-1], _resolver_type_ids(store), _run_in_progress(metadata_path))


def summary_of_run(connection_config: Any, run_name: str) -> RunSummary:
    """Summary of the run `run_name` in any ML Metadata store (a compiled pipeline's run: its
    steps share the store and the KFP run id as the pipeline run's name)."""
    store = mlmd.MetadataStore(connection_config)
    run = store.get_context_by_type_and_name(PIPELINE_RUN_CONTEXT, run_name)
    if run is None:
        raise LookupError(f"no pipeline run {run_name!r} recorded in ML Metadata")
    return _summarize(store, run, _resolver_type_ids(store))


def run_summaries(metadata_path: str) -> list[RunSummary]:
    """Every pipeline run recorded in `metadata_path`, oldest first."""
    store = _store(metadata_path)
    resolver_type_ids = _resolver_type_ids(store)
    runs = runs_oldest_first(store)
    in_progress = _run_in_progress(metadata_path)
    return [_summarize(store, run, resolver_type_ids, in_progress and run is runs[-1]) for run in runs]


def _run_in_progress(metadata_path: str) -> bool:
    """Whether a run holds the store's output directory now (its unfinished steps are running)."""
    return is_locked(os.path.dirname(os.path.abspath(metadata_path)))


def _summarize(store: mlmd.MetadataStore, run: metadata_store_pb2.Context, resolver_type_ids: set[int],
               in_progress: bool = False) -> RunSummary:
    executions = store.get_executions_by_context(run.id)
    node_ids = _node_ids(store, executions)
    summary = RunSummary(run_id=run.name, started_ms=run.create_time_since_epoch)
    for execution in sorted(executions, key=lambda e: e.id):
        if execution.type_id in resolver_type_ids:
            continue
        name = node_ids.get(execution.id, str(execution.id))
        state = execution.last_known_state
        if state == Execution.CACHED:
            summary.cached.append(name)
        elif state == Execution.COMPLETE:
            summary.executed.append(name)
        elif state == Execution.FAILED:
            summary.failed.append(name)
            result = execution_lib.get_execution_result(execution, ignore_parse_errors=True)
            if result is not None and result.result_message:
                summary.errors[name] = result.result_message
        elif state in (Execution.NEW, Execution.RUNNING):
            (summary.running if in_progress else summary.interrupted).append(name)
    events = store.get_events_by_execution_ids([e.id for e in executions])
    producers = {e.artifact_id: node_ids.get(e.execution_id) for e in events if e.type in (e.OUTPUT, e.DECLARED_OUTPUT)}
    for artifact in store.get_artifacts_by_id(sorted(producers)):
        type_name = store.get_artifact_types_by_id([artifact.type_id])[0].name
        props = artifact.custom_properties
        if type_name == "ModelBlessing" and "blessed" in props:
            summary.blessed = props["blessed"].int_value == 1
        elif type_name == "ModelEvaluation":
            summary.evaluation_uri = artifact.uri
            _read_evaluation(artifact.uri, summary)
        elif type_name == "ExampleStatistics" and producers[artifact.id] == STATISTICS_GEN_ID:
            summary.statistics_uri = artifact.uri
        elif type_name == "PushedModel" and props.get("pushed") and props["pushed"].int_value == 1:
            summary.pushed_destination = props["pushed_destination"].string_value
            summary.already_pushed = ALREADY_PUSHED_KEY in props and props[ALREADY_PUSHED_KEY].int_value == 1
        elif type_name == "HyperParameters":
            config = json.loads(io_utils.read_string_file(os.path.join(artifact.uri, BEST_HYPERPARAMETERS_FILE)))
            summary.tuned_hyperparameters = searched_values(config.get("values", {}))
        elif type_name == "TunerResults":
            summary.tuning_trials = json.loads(io_utils.read_string_file(os.path.join(artifact.uri, TUNER_RESULTS_FILE)))
        elif type_name == "ModelRun":
            summary.model_run_dir = artifact.uri
            summary.warm_start = _read_warm_start(artifact.uri)
        elif type_name == "ExampleAnomalies" and producers[artifact.id] == EXAMPLE_VALIDATOR_ID:
            _read_anomalies(artifact, summary)  # not Transform's post-transform anomalies (same type)
        elif type_name == "Examples" and "span" in props and summary.span is None:
            summary.span = props["span"].int_value
    return summary


def split_statistics(uri: str, split: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """One split's statistics from a StatisticsGen output directory, read as TFX's executors read them."""
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = uri
    artifact.split_names = artifact_utils.encode_split_names([split])
    return stats_artifact_utils.load_statistics(artifact, split).proto()


def latest_output(metadata_path: str, node_ids: tuple[str, ...], type_name: str) -> metadata_store_pb2.Artifact | None:
    """The newest live `type_name` artifact that one of the components `node_ids` produced
    (SchemaGen's schema, not Transform's post-transform schema, which has the same type)."""
    store = _store(metadata_path)
    node_type_ids = {t.id for t in store.get_context_types() if t.name == NODE_CONTEXT}
    contexts = [c for c in store.get_contexts() if c.type_id in node_type_ids and c.name.split(".", 1)[-1] in node_ids]
    execution_ids = [e.id for context in contexts for e in store.get_executions_by_context(context.id)]
    events = store.get_events_by_execution_ids(execution_ids) if execution_ids else []
    output_ids = sorted({e.artifact_id for e in events if e.type in (e.OUTPUT, e.DECLARED_OUTPUT)})
    type_ids = {t.id for t in store.get_artifact_types() if t.name == type_name}
    artifacts = [a for a in store.get_artifacts_by_id(output_ids)
                 if a.type_id in type_ids and a.state == metadata_store_pb2.Artifact.LIVE]
    return max(artifacts, key=lambda artifact: artifact.id, default=None)
