"""Everything `coursepipe` prints: run summaries, run histories, anomaly and drift tables, imported
data, compiled runs. Commands decide what happened; these functions decide how it reads.

Results arrive as the project's own dataclasses (`RunSummary`, `CheckResult`, `ImportedData`,
`CompiledRun`), imported here only for type checking, so that printing costs no import.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shlex
import sys
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from modules.curves import CURVES_FILE
from modules.sample_grids import FINAL_GRID
from pipelines.kubeflow.kfp_artifacts import RECORDS_FILE
from pipelines.names import EVAL_METRICS

if TYPE_CHECKING:
    from components.sources import DataSource
    from components.validation.anomalies import AnomalyRow
    from components.validation.data_forms import LoadedData
    from pipelines.data.checks import CheckResult
    from pipelines.data.predictions import CheckedData
    from pipelines.data.source_import import ImportedData
    from pipelines.kubeflow.kfp_local_runner import KfpRun
    from pipelines.kubeflow.submit import SubmittedRun
    from pipelines.kubeflow.submit_options import Connection
    from pipelines.kubeflow.vertex_local_runner import CompiledRun
    from pipelines.runs.summary import RunSummary
    from pipelines.spec.pipeline_spec import PipelineSpec

TENSORBOARD_LOGS_DIR = "logs"


def anomaly_count(count: int) -> str:
    """`1 anomaly`, `3 anomalies`."""
    return f"{count} anomal{'y' if count == 1 else 'ies'}"


def iso_time(ms_since_epoch: int) -> str:
    return datetime.datetime.fromtimestamp(ms_since_epoch / 1000).isoformat(timespec="seconds")


def summary_json(summary: RunSummary) -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    data["started"] = iso_time(summary.started_ms)
    return data


def print_run_json(spec: PipelineSpec, summary: RunSummary, seconds: float, run_directory: str) -> None:
    print(json.dumps({"id": spec.id, "seconds": round(seconds, 1), "run_directory": run_directory,
                      "evaluation": {"metric": spec.evaluation.metric,
                                     "lower_bound": spec.evaluation.lower_bound,
                                     "upper_bound": spec.evaluation.upper_bound},
                      **summary_json(summary)}, indent=2))


def bound_margin(side: str, bound: float, margin: float) -> str:
    """`lower bound 0.661, +0.3133 above it` (a margin past the bar), or `..., 0.0400 short of it`."""
    if margin < 0:
        return f"{side} bound {bound}, {-margin:.4f} short of it"
    return f"{side} bound {bound}, {margin:+.4f} {'above' if side == 'lower' else 'below'} it"


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                     for name, value in sorted(values.items()))


def print_run_summary(spec: PipelineSpec, summary: RunSummary, seconds: float, run_directory: str) -> None:
    """What a finished local run did: cache use, the gated metric, data warnings, blessing, push."""
    print(f"{spec.id}: pipeline finished in {seconds:.1f} s "
          f"({len(summary.executed)} executed, {len(summary.cached)} from cache)")
    if summary.warm_start:
        print(f"  warm start: {summary.warm_start}")
    if summary.tuned_hyperparameters is not None:
        print(f"  tuning: {len(summary.tuning_trials)} trials; trained with {_values(summary.tuned_hyperparameters)}")
        for trial in summary.tuning_trials:
            values = {k: v for k, v in trial.items() if k not in ("trial_id", "score")}
            objective = spec.tuning.objective if spec.tuning is not None else "score"
            print(f"    trial {trial['trial_id']}: {objective} {trial['score']:.4f}  {_values(values)}")
    metric = spec.evaluation.metric
    if metric in summary.metrics:
        value_now = summary.metrics[metric]
        lower, upper = spec.evaluation.lower_bound, spec.evaluation.upper_bound
        # How far past its bar the model is, so that a model that barely beats it is visible.
        bounds = [*([bound_margin("lower", lower, value_now - lower)] if lower is not None else []),
                  *([bound_margin("upper", upper, upper - value_now)] if upper is not None else [])]
        change = summary.metric_changes.get(metric)
        if change is not None:
            bounds.append(f"change vs baseline {change:+.4f}")
        print(f"  evaluation: {metric} = {summary.metrics[metric]:.4f}"
              + (f" ({'; '.join(bounds)})" if bounds else ""))
    worst = summary.slices_worst_first(metric, EVAL_METRICS[metric].higher_is_better)
    if worst:
        name, value = worst[0]
        print(f"  worst slice: {name}: {metric} = {value:.4f} (of {len(worst)} slices)")
    for name in spec.evaluation.report:
        if name in summary.metrics:
            print(f"  also: {name} = {summary.metrics[name]:.4f}")
    if summary.data_warnings:
        print(f"  data: {anomaly_count(len(summary.data_warnings))} let through as warnings (validation.warn_on):")
        for warning in summary.data_warnings:
            print(f"    {warning}")
    elif summary.validation_report:
        print("  data: no anomalies")
    if summary.blessed:
        print("  blessed: yes")
    else:
        reasons = "; ".join(summary.validation_failures) or "thresholds not met"
        print(f"  blessed: no ({reasons})")
    if summary.already_pushed:
        print(f"  pushed to: {summary.pushed_destination} (already served there: the same model, not copied again)")
    else:
        print(f"  pushed to: {summary.pushed_destination or 'nothing pushed'}")
    if summary.model_run_dir:
        curves = os.path.join(summary.model_run_dir, CURVES_FILE)
        if os.path.exists(curves):
            print(f"  curves: {curves}")
        samples = os.path.join(summary.model_run_dir, FINAL_GRID)
        if os.path.exists(samples):
            print(f"  samples: {samples}")
        logs = os.path.join(summary.model_run_dir, TENSORBOARD_LOGS_DIR)
        if os.path.isdir(logs):
            print(f"  TensorBoard: tensorboard --logdir {shlex.quote(logs)}")
    print(f"  run directory: {run_directory}")


def print_rejected_data(spec: PipelineSpec, rows: Sequence[AnomalyRow], report: str, seconds: float) -> None:
    """A run the data validation gate stopped."""
    print(f"{spec.id}: data validation failed after {seconds:.1f} s; "
          "the run stopped before Transform: nothing trained, nothing pushed")
    print_anomaly_rows(rows)
    print(f"  report: {report}")
    print("  earlier pushed models are untouched; mark kinds as warnings in the spec's "
          "validation.warn_on, or fix the data and run again")


def print_failed_run(spec: PipelineSpec, failed: Sequence[str], error: BaseException) -> None:
    """A run a component's exception stopped: which step, why, and that nothing earlier was lost."""
    where = f" at {', '.join(failed)}" if failed else ""
    print(f"error: {spec.id}: the pipeline failed{where}: {type(error).__name__}: {error}", file=sys.stderr)
    print(f"  earlier artifacts and pushed models are untouched; 'coursepipe report {spec.reference}' shows the run, "
          "and the next run resumes from what is cached", file=sys.stderr)


def print_run_history(spec: PipelineSpec, summaries: Sequence[RunSummary]) -> None:
    """One row per run: started, span, executed/cached, the gated metric, blessed, pushed path."""
    metric = spec.evaluation.metric
    print(f"{'started':19s}  {'span':>4s}  {'executed':>8s}  {'cached':>6s}  {metric:>28s}  blessed  pushed to")
    for summary in summaries:
        value = summary.metrics.get(metric)
        blessed = {True: "yes", False: "no", None: "-"}[summary.blessed]
        if summary.failed:
            blessed = f"failed: {', '.join(summary.failed)}"
        elif summary.interrupted:
            blessed = f"interrupted: {', '.join(summary.interrupted)}"
        elif summary.running:
            blessed = f"running: {', '.join(summary.running)}"
        print(f"{iso_time(summary.started_ms):19s}  {'-' if summary.span is None else summary.span:>4}  "
              f"{len(summary.executed):>8d}  {len(summary.cached):>6d}  "
              f"{'-' if value is None else f'{value:.4f}':>28s}  {blessed:7s}  {summary.pushed_destination or '-'}")
        if summary.tuned_hyperparameters is not None:
            print(f"{'':21s}tuned over {len(summary.tuning_trials)} trials: {_values(summary.tuned_hyperparameters)}")


def print_anomaly_rows(rows: Sequence[AnomalyRow], warn_on: Sequence[str] = ()) -> None:
    width = max((len(row.feature) for row in rows), default=7)
    kind_width = max((len(row.kind) for row in rows), default=4)
    for row in rows:
        warning = " (warning)" if row.kind in warn_on else ""
        print(f"  {row.where}: {row.feature:{width}s}  {row.kind:{kind_width}s}  {row.description}{warning}")


def checked_data_line(data: Sequence[LoadedData]) -> str:
    return ", ".join(f"{loaded.path} ({loaded.form}, {len(loaded.examples)} examples)" for loaded in data)


def print_refused_predictions(spec: PipelineSpec, checked: CheckedData) -> None:
    """Data the schema check refused: its anomalies, and that nothing was scored."""
    print(f"{spec.id}: {checked_data_line((checked.data,))} has {anomaly_count(len(checked.anomalies))} "
          f"against {checked.schema_origin}; nothing scored:")
    print_anomaly_rows(checked.anomalies)


def print_validation(spec: PipelineSpec, result: CheckResult) -> None:
    print(f"{spec.id}: checked {checked_data_line(result.data)}")
    print(f"  schema: {result.schema_origin}")
    if result.outcome.rows:
        print(f"  {anomaly_count(len(result.outcome.rows))}:")
        print_anomaly_rows(result.outcome.rows, spec.validation.warn_on)
    else:
        print("  no anomalies")
    print(f"  report: {result.report}")


def print_drift(spec: PipelineSpec, result: CheckResult, problems: Sequence[AnomalyRow]) -> list[str]:
    """The drift table, then what made features incomparable (`problems`); returns the features
    that drifted."""
    print(f"{spec.id}: drift of {checked_data_line(result.data)}")
    print(f"  schema: {result.schema_origin}")
    width = max((len(row.feature) for row in result.outcome.drift), default=7)
    print(f"  {'feature':{width}s}  {'measure':26s}  {'distance':>9s}  {'threshold':>9s}  drifted")
    for row in result.outcome.drift:
        print(f"  {row.feature:{width}s}  {row.measure:26s}  {row.distance:9.4f}  {row.threshold:9.4f}  "
              f"{'yes' if row.exceeded else 'no'}")
    drifted = [row.feature for row in result.outcome.drift if row.exceeded]
    not_compared = sorted({row.feature for row in problems} - {row.feature for row in result.outcome.drift})
    if not_compared:
        print(f"  drifted: {', '.join(drifted) if drifted else 'none of the compared features'}; "
              f"not compared: {', '.join(not_compared)}")
    else:
        print(f"  drifted: {', '.join(drifted) if drifted else 'none'}")
    if problems:
        print(f"  {len(problems)} data problem{'' if len(problems) == 1 else 's'} (features not compared as they are):")
        print_anomaly_rows(problems)
    print(f"  report: {result.report}")
    return drifted


def print_imported_data(source_id: str, imported: ImportedData, seconds: float) -> None:
    total = sum(imported.split_counts.values())
    print(f"{source_id}: {total} examples, span {imported.span}, imported in {seconds:.1f} s")
    for split, count in imported.split_counts.items():
        print(f"  {split:8s} {count:8d} examples")
    print(f"  {'feature':16s} {'stored as':20s} {'values/example':>14s}  shape")
    for feature in imported.features:
        print(f"  {feature.name:16s} {feature.stored_as:20s} {feature.values_per_example:>14s}  {feature.shape}")
    print(f"  examples: {imported.uri}")


def print_sources(sources: Sequence[DataSource]) -> None:
    for source in sources:
        files = " or ".join(source.layouts) if source.layouts else "(generated, no files)"
        print(f"{source.id:16s} {source.description}")
        print(f"{'':16s}   files: {files}; split: {source.default_split.kind}")


def _typed_default(parameter: Mapping[str, Any]) -> Any:
    """A parameter's default as its type reads (the KFP SDK writes 500 of an int parameter as 500.0)."""
    default = parameter["defaultValue"]
    return int(default) if parameter.get("parameterType") == "NUMBER_INTEGER" else default


def print_run_parameters(inputs: Mapping[str, Mapping[str, Any]]) -> None:
    """A compiled pipeline's run parameters and their defaults."""
    if inputs:
        listed = ", ".join(f"{name} (default {_typed_default(parameter)})" for name, parameter in sorted(inputs.items()))
        print(f"  run parameters: {listed}")


def print_kfp_run(run: KfpRun, summary: RunSummary) -> None:
    """A compiled pipeline's run here: each step's time, then what ML Metadata recorded."""
    parameters = ", ".join(f"{name}={value}" for name, value in sorted(run.parameters.items()))
    print(f"run {run.run_id} ({parameters or 'no parameters'}); step logs in {run.log_dir}")
    for step in run.steps:
        retried = f" ({step.attempts} tries: failed {step.attempts - 1}, then succeeded)" if step.attempts > 1 else ""
        print(f"  {step.display_name:35s} {step.seconds:6.1f} s{retried}")
    print(f"  {len(summary.executed)} executed ({', '.join(summary.executed) or 'none'}), "
          f"{len(summary.cached)} from cache")
    for name, value in sorted(summary.metrics.items()):
        print(f"  evaluation: {name} = {value:.4f}")
    if summary.blessed is not None:
        print(f"  blessed: {'yes' if summary.blessed else 'no'}")
    if summary.pushed_destination:
        note = " (already served there: the same model, not copied again)" if summary.already_pushed else ""
        print(f"  pushed to: {summary.pushed_destination}{note}")
    else:
        print("  pushed: nothing")
    if run.artifacts:
        stored = sum(artifact.stored_file is not None for artifact in run.artifacts)
        print(f"  KFP UI artifacts: {len(run.artifacts)} ({stored} files stored under KFP's root), listed in "
              f"{os.path.join(run.log_dir, RECORDS_FILE)}")


def print_compiled_run(run: CompiledRun) -> None:
    """Each step of a compiled pipeline run here, its time, what resolvers found; blessing and push."""
    parameters = ", ".join(f"{name}={value}" for name, value in sorted(run.parameters.items()))
    print(f"run {run.run_id} ({parameters or 'no parameters'}): {len(run.steps)} steps in {run.run_dir}")
    for step in run.steps:
        resolved = "" if step.kind == "container" else " (resolver: " + (
            ", ".join(uri for uris in step.outputs.values() for uri in uris) or "nothing") + ")"
        print(f"  {step.task:55s} {step.seconds:6.1f} s{resolved}")
    for blessing in run.artifact_metadata("tfx.ModelBlessing"):
        print(f"  blessed: {'yes' if blessing.get('blessed') == 1 else 'no'}")
    for pushed in run.artifact_metadata("tfx.PushedModel"):
        print(f"  pushed: {pushed['pushed_destination']}" if pushed.get("pushed") == 1 else "  pushed: nothing")


def print_submitted(spec_id: str, connection: Connection, experiment: str, run: SubmittedRun) -> None:
    """What `submit` created on the server."""
    where = f" (namespace {connection.namespace})" if connection.namespace else ""
    print(f"{spec_id}: submitted to {connection.host}{where}")
    print(f"  pipeline {run.pipeline_id}, version {run.version_id}")
    if run.schedule is not None:
        print(f"  experiment {experiment} ({run.experiment_id}), recurring run {run.run_id}: {run.schedule.describe()}")
    else:
        print(f"  experiment {experiment} ({run.experiment_id}), run {run.run_id}")
    print(f"  {run.url}")


def print_step_state(step: str, state: str) -> None:
    """One step of a followed run changed its state."""
    print(f"  {step:35s} {state}", flush=True)
