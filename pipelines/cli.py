"""`coursepipe`: list, show, run and compile the course pipelines.

Exit codes: 0 success, 1 the pipeline failed, 2 bad usage or input (unknown id, invalid spec,
missing data file) with one message naming the file, the field and what was expected.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

import yaml
from pydantic import ValidationError

from components.sources.base import DataFileError, DataLocation, MissingDataError
from components.validation.anomalies import DataAnomaliesError
from modules.curves import CURVES_FILE
from pipelines.errors import SpecError, problems_from_validation
from pipelines.spec import PipelineSpec, load_spec, spec_ids, spec_path

if TYPE_CHECKING:
    from components.validation.anomalies import AnomalyRow
    from pipelines.summary import RunSummary
    from pipelines.validation import CheckResult

logger = logging.getLogger("coursepipe")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROJECT_PACKAGES = ("coursepipe", "pipelines", "components", "modules")


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


class ProjectLogFilter(logging.Filter):
    """Keeps this project's INFO lines and everyone's errors; TFX, TF and Beam chatter goes.

    A handler filter, not logger levels: TFX and absl reset their loggers' levels while running.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or record.name.split(".")[0] in PROJECT_PACKAGES


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s",
    )
    if verbose:
        return
    # TF 2.16 prints harmless CUDA plugin "errors" at import on CPU-only machines.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for handler in logging.getLogger().handlers:
        handler.addFilter(ProjectLogFilter())
    import warnings  # noqa: PLC0415

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _spec_from_args(args: argparse.Namespace) -> PipelineSpec:
    if getattr(args, "spec", None):
        spec = PipelineSpec.from_yaml(args.spec)
    elif not args.id:
        raise UsageError("give a pipeline ID or --spec FILE (see 'coursepipe list')")
    else:
        spec = load_spec(args.id)
    if getattr(args, "source", None):
        # An explicit choice (mnist_5k for mnist), validated like a spec that names it.
        data = spec.model_dump(mode="json")
        data["data"] = {**data["data"], "source": args.source, "split": None, "options": {}}
        spec = PipelineSpec.from_dict(data, source=f"{spec.id} with --source {args.source}")
    return spec


def _data_location(spec: PipelineSpec, override: str | None, output_dir: str) -> "DataLocation":
    """Where a run reads: --data-dir, else the spec's data.path, else the source's default."""
    from components.sources import get_source  # noqa: PLC0415  (keeps `list` fast)
    from pipelines.data import data_location  # noqa: PLC0415

    field = "--data-dir" if override else "data.path"
    return data_location(get_source(spec.data.source), override or spec.data.path, field, output_dir)


def _parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """`--option key=value` pairs; values are YAML (`window=4`, `size=[32, 32]`, `color=rgb`)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--option: expected KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


def cmd_list(args: argparse.Namespace) -> int:
    """Ids and descriptions straight from the YAML: validating every spec would import
    TensorFlow through the model registry (6 s) to print a list; `show` and `run` validate."""
    for spec_id in spec_ids():
        with open(spec_path(spec_id), encoding="utf-8") as handle:
            description = (yaml.safe_load(handle) or {}).get("description", "")
        print(f"{spec_id:28s} {description}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    print(_spec_from_args(args).to_yaml(), end="")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runners.local import layout_for, run_local  # noqa: PLC0415  (heavy: TFX, TF, Beam)
    from pipelines.summary import latest_run_summary  # noqa: PLC0415

    spec = _spec_from_args(args)
    location = _data_location(spec, args.data_dir, layout_for(spec, args.output).output_dir)
    started = time.monotonic()
    try:
        layout = run_local(spec, args.output, data=location, beam_args=args.beam_arg)
    except RuntimeError as error:
        if _data_error_cause(error) is not None:
            raise
        anomalies = _cause_of_type(error, DataAnomaliesError)
        if anomalies is not None:
            print(f"{spec.id}: data validation failed after {time.monotonic() - started:.1f} s; "
                  "the run stopped before Transform: nothing trained, nothing pushed")
            _print_rows(anomalies.rows)
            print(f"  report: {anomalies.report}")
            print("  earlier pushed models are untouched; mark kinds as warnings in the spec's "
                  "validation.warn_on, or fix the data and run again")
            return EXIT_FAILED
        logger.error("%s: the pipeline failed: %s", spec.id, error)
        return EXIT_FAILED
    summary = latest_run_summary(layout.metadata_path)
    elapsed = time.monotonic() - started
    if args.json:
        print(json.dumps({"id": spec.id, "seconds": round(elapsed, 1), "run_directory": layout.output_dir,
                          "evaluation": {"metric": spec.evaluation.metric,
                                         "lower_bound": spec.evaluation.lower_bound,
                                         "upper_bound": spec.evaluation.upper_bound},
                          **_summary_json(summary)}, indent=2))
        return EXIT_OK if not summary.failed else EXIT_FAILED
    print(f"{spec.id}: pipeline finished in {elapsed:.1f} s "
          f"({len(summary.executed)} executed, {len(summary.cached)} from cache)")
    metric = spec.evaluation.metric
    if metric in summary.metrics:
        bounds = [f"{name} {value}" for name, value in
                  (("lower bound", spec.evaluation.lower_bound), ("upper bound", spec.evaluation.upper_bound))
                  if value is not None]
        change = summary.metric_changes.get(metric)
        if change is not None:
            bounds.append(f"change vs baseline {change:+.4f}")
        print(f"  evaluation: {metric} = {summary.metrics[metric]:.4f}"
              + (f" ({'; '.join(bounds)})" if bounds else ""))
    for name in spec.evaluation.report:
        if name in summary.metrics:
            print(f"  also: {name} = {summary.metrics[name]:.4f}")
    if summary.data_warnings:
        print(f"  data: {len(summary.data_warnings)} anomal{'y' if len(summary.data_warnings) == 1 else 'ies'} "
              "let through as warnings (validation.warn_on):")
        for warning in summary.data_warnings:
            print(f"    {warning}")
    elif summary.validation_report:
        print("  data: no anomalies")
    if summary.blessed:
        print("  blessed: yes")
    else:
        reasons = "; ".join(summary.validation_failures) or "thresholds not met"
        print(f"  blessed: no ({reasons})")
    print(f"  pushed to: {summary.pushed_destination or 'nothing pushed'}")
    if summary.model_run_dir:
        curves = os.path.join(summary.model_run_dir, CURVES_FILE)
        if os.path.exists(curves):
            print(f"  curves: {curves}")
        if os.path.isdir(os.path.join(summary.model_run_dir, "logs")):
            print(f"  TensorBoard: tensorboard --logdir {os.path.join(summary.model_run_dir, 'logs')}")
    print(f"  run directory: {layout.output_dir}")
    return EXIT_OK if not summary.failed else EXIT_FAILED


def _summary_json(summary: "RunSummary") -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    data["started"] = _iso_time(summary.started_ms)
    return data


def _iso_time(ms_since_epoch: int) -> str:
    return datetime.datetime.fromtimestamp(ms_since_epoch / 1000).isoformat(timespec="seconds")


def cmd_runs(args: argparse.Namespace) -> int:
    """Past runs of a pipeline, from the ML Metadata store of its run directory."""
    from pipelines.runners.local import layout_for  # noqa: PLC0415
    from pipelines.summary import run_summaries  # noqa: PLC0415

    spec = _spec_from_args(args)
    layout = layout_for(spec, args.output)
    if not os.path.exists(layout.metadata_path):
        raise UsageError(f"{spec.id}: no runs in {layout.output_dir} (no metadata.sqlite); "
                         f"run 'coursepipe run {spec.id}' first, or give --output DIR")
    summaries = run_summaries(layout.metadata_path)
    if args.json:
        print(json.dumps([_summary_json(s) for s in summaries], indent=2))
        return EXIT_OK
    metric = spec.evaluation.metric
    print(f"{'started':19s}  {'span':>4s}  {'executed':>8s}  {'cached':>6s}  {metric:>28s}  blessed  pushed to")
    for summary in summaries:
        value = summary.metrics.get(metric)
        blessed = {True: "yes", False: "no", None: "-"}[summary.blessed]
        if summary.failed:
            blessed = f"failed: {', '.join(summary.failed)}"
        print(f"{_iso_time(summary.started_ms):19s}  {'-' if summary.span is None else summary.span:>4}  "
              f"{len(summary.executed):>8d}  {len(summary.cached):>6d}  "
              f"{'-' if value is None else f'{value:.4f}':>28s}  {blessed:7s}  {summary.pushed_destination or '-'}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """One self-contained HTML page about a run (default: the latest)."""
    from components.validation.report import write_report  # noqa: PLC0415
    from pipelines.report import report_html  # noqa: PLC0415
    from pipelines.runners.local import layout_for  # noqa: PLC0415
    from pipelines.summary import run_summaries, split_statistics  # noqa: PLC0415

    spec = _spec_from_args(args)
    layout = layout_for(spec, args.output)
    if not os.path.exists(layout.metadata_path):
        raise UsageError(f"{spec.id}: no runs in {layout.output_dir}; run 'coursepipe run {spec.id}' first")
    summaries = run_summaries(layout.metadata_path)
    chosen = [s for s in summaries if args.run in (None, s.run_id)]
    if not chosen:
        raise UsageError(f"--run: no run {args.run!r} in {layout.output_dir}; expected one of: "
                         + ", ".join(s.run_id for s in summaries))
    summary = chosen[-1]
    statistics = split_statistics(summary.statistics_uri, "train") if summary.statistics_uri else None
    path = args.to or os.path.join(layout.output_dir, "reports", f"{summary.run_id.replace(':', '-')}.html")
    write_report(path, report_html(spec, summary, statistics))
    print(f"{spec.id}: report of run {summary.run_id} written to {os.path.abspath(path)}")
    return EXIT_OK


def cmd_data(args: argparse.Namespace) -> int:
    from components.sources import get_source  # noqa: PLC0415
    from pipelines.data import import_source  # noqa: PLC0415  (heavy: TFX, TF, Beam)

    if args.source is None:
        return _list_sources()
    try:
        source = get_source(args.source)
    except KeyError as error:
        raise UsageError(str(error.args[0])) from None
    output_dir = os.path.abspath(args.output or os.path.join("runs", "data", source.id))
    try:
        options = source.parse_options(_parse_options(args.option))
    except ValidationError as error:
        problems = problems_from_validation(source.options_class, error, prefix="--option ",
                                            unknown_key=f"unknown option for source {source.id!r}")
        raise UsageError("; ".join(str(p) for p in problems)) from None
    started = time.monotonic()
    imported = import_source(source.id, output_dir, path=args.data_dir,
                             options=options.model_dump(mode="json"))
    elapsed = time.monotonic() - started
    total = sum(imported.split_counts.values())
    print(f"{source.id}: {total} examples, span {imported.span}, imported in {elapsed:.1f} s")
    for split, count in imported.split_counts.items():
        print(f"  {split:8s} {count:8d} examples")
    print(f"  {'feature':16s} {'stored as':20s} {'values/example':>14s}  shape")
    for feature in imported.features:
        print(f"  {feature.name:16s} {feature.stored_as:20s} {feature.values_per_example:>14s}  {feature.shape}")
    print(f"  examples: {imported.uri}")
    return EXIT_OK


def _list_sources() -> int:
    from components.sources import SOURCES  # noqa: PLC0415

    for source in SOURCES.values():
        files = " or ".join(source.layouts) if source.layouts else "(generated, no files)"
        print(f"{source.id:16s} {source.description}")
        print(f"{'':16s}   files: {files}; split: {source.default_split.kind}")
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from pipelines.runners.kfp_local import pipeline_inputs  # noqa: PLC0415
    from pipelines.runners.kubeflow import compile_for_kubeflow  # noqa: PLC0415

    if args.all:
        return _compile_all(args)
    if not args.output:
        raise UsageError("compile: give --output FILE (or --all --output-dir DIR)")
    spec = _spec_from_args(args)
    compiled = compile_for_kubeflow(
        spec, args.output, pipeline_root=args.pipeline_root, image=args.image, data_path=args.data_path,
        gpu_image=args.gpu_image,
    )
    print(f"{spec.id}: Kubeflow pipeline written to {args.output}")
    inputs = pipeline_inputs(compiled)
    if inputs:
        listed = ", ".join(f"{name} (default {parameter['defaultValue']})" for name, parameter in sorted(inputs.items()))
        print(f"  run parameters: {listed}")
    return EXIT_OK


def cmd_run_compiled(args: argparse.Namespace) -> int:
    """Executes a compiled Kubeflow pipeline's steps here, through TFX's Kubeflow v2 entrypoint."""
    from components.validation.schemas import shipped_schemas_dir  # noqa: PLC0415
    from pipelines.runners.kfp_local import (  # noqa: PLC0415
        CompiledPipelineError,
        CompiledPipelineRunner,
        CompiledStepError,
        load_compiled,
    )
    from pipelines.runners.kubeflow import IMAGE_SCHEMAS_DIR  # noqa: PLC0415

    mounts = {IMAGE_SCHEMAS_DIR: shipped_schemas_dir(), **_key_values(args.mount, "--mount")}
    try:
        runner = CompiledPipelineRunner(load_compiled(args.file), mounts=mounts)
        print(f"{args.file}: running {runner.name} under {runner.root}")
        run = runner.run(_key_values(args.param, "--param"))
    except CompiledPipelineError as error:
        raise UsageError(str(error)) from None
    except CompiledStepError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
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
    return EXIT_OK


def _key_values(items: Sequence[str], option: str) -> dict[str, str]:
    """`["a=1", "b=2"]` -> {"a": "1", "b": "2"}; an item without '=' is a usage error."""
    pairs = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        pairs[key] = value
    return pairs


def cmd_submit(args: argparse.Namespace) -> int:
    """Compiles the spec and submits it to a Kubeflow Pipelines server with kfp.Client."""
    import tempfile  # noqa: PLC0415

    from pipelines.runners.kubeflow import compile_for_kubeflow  # noqa: PLC0415
    from pipelines.runners.submit import submit  # noqa: PLC0415

    spec = _spec_from_args(args)
    with tempfile.TemporaryDirectory() as scratch:
        compiled = compile_for_kubeflow(
            spec, os.path.join(scratch, f"{spec.id}.json"), pipeline_root=args.pipeline_root, image=args.image,
            data_path=args.data_path, gpu_image=args.gpu_image,
        )
    from pipelines.runners.kfp_local import CompiledPipelineError, run_parameters  # noqa: PLC0415

    try:
        parameters = run_parameters(compiled, _key_values(args.param, "--param"))
    except CompiledPipelineError as error:
        raise UsageError(f"{spec.id}: {error}") from None
    run = submit(compiled, args.host, args.experiment, spec.description, parameters)
    print(f"{spec.id}: submitted to {args.host}")
    print(f"  pipeline {run.pipeline_id}, version {run.version_id}")
    print(f"  experiment {args.experiment} ({run.experiment_id}), run {run.run_id}")
    print(f"  {run.url}")
    return EXIT_OK


def _compile_all(args: argparse.Namespace) -> int:
    """Every shipped spec into DIR/<id>.json; all specs are tried, every failure is reported."""
    from pipelines.runners.kubeflow import compile_for_kubeflow  # noqa: PLC0415

    if args.id or getattr(args, "spec", None) or args.data_path or not args.output_dir:
        raise UsageError("compile --all: give --output-dir DIR, and no ID, --spec or --data-dir "
                         "(each spec keeps its own data location)")
    failures = []
    for spec_id in spec_ids():
        output = os.path.join(args.output_dir, f"{spec_id}.json")
        try:
            compile_for_kubeflow(load_spec(spec_id), output, pipeline_root=args.pipeline_root,
                                 image=args.image, gpu_image=args.gpu_image)
        except SpecError as error:
            failures.append(str(error))
            continue
        print(f"{spec_id}: {output}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return EXIT_USAGE if failures else EXIT_OK


def _print_rows(rows: Sequence["AnomalyRow"], warn_on: Sequence[str] = ()) -> None:
    width = max((len(row.feature) for row in rows), default=7)
    kind_width = max((len(row.kind) for row in rows), default=4)
    for row in rows:
        warning = " (warning)" if row.kind in warn_on else ""
        print(f"  {row.where}: {row.feature:{width}s}  {row.kind:{kind_width}s}  {row.description}{warning}")


def _checked_data_line(result: "CheckResult") -> str:
    return ", ".join(f"{data.path} ({data.form}, {len(data.examples)} examples)" for data in result.data)


def cmd_validate(args: argparse.Namespace) -> int:
    """Checks data against the pipeline's schema; exit 1 when anomalies (not warnings) are found."""
    from components.validation.anomalies import errors_and_warnings  # noqa: PLC0415
    from pipelines.validation import validate_path  # noqa: PLC0415  (heavy: TFDV, TF)

    spec = _spec_from_args(args)
    result = _run_check(lambda: validate_path(spec, args.data, args.output, args.schema, args.report))
    errors, _ = errors_and_warnings(result.outcome.rows, spec.validation.warn_on)
    print(f"{spec.id}: checked {_checked_data_line(result)}")
    print(f"  schema: {result.schema_origin}")
    if result.outcome.rows:
        print(f"  {len(result.outcome.rows)} anomal{'y' if len(result.outcome.rows) == 1 else 'ies'}:")
        _print_rows(result.outcome.rows, spec.validation.warn_on)
    else:
        print("  no anomalies")
    print(f"  report: {result.report}")
    return EXIT_FAILED if errors else EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    """Per-feature drift distances of --current against --baseline; exit 1 when any drifted."""
    from pipelines.validation import drift_between  # noqa: PLC0415

    spec = _spec_from_args(args)
    result = _run_check(lambda: drift_between(spec, args.baseline, args.current, args.output, args.schema, args.report))
    print(f"{spec.id}: drift of {_checked_data_line(result)}")
    print(f"  schema: {result.schema_origin}")
    width = max((len(row.feature) for row in result.outcome.drift), default=7)
    print(f"  {'feature':{width}s}  {'measure':26s}  {'distance':>9s}  {'threshold':>9s}  drifted")
    for row in result.outcome.drift:
        print(f"  {row.feature:{width}s}  {row.measure:26s}  {row.distance:9.4f}  {row.threshold:9.4f}  "
              f"{'yes' if row.exceeded else 'no'}")
    drifted = [row.feature for row in result.outcome.drift if row.exceeded]
    print(f"  drifted: {', '.join(drifted) if drifted else 'none'}")
    print(f"  report: {result.report}")
    return EXIT_FAILED if drifted else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """`schema freeze ID`: the latest run's schema, curated, into pipelines/schemas/<id>.pbtxt."""
    from pipelines.validation import freeze_schema  # noqa: PLC0415

    spec = _spec_from_args(args)
    path = _run_check(lambda: freeze_schema(spec, args.output, args.to))
    print(f"{spec.id}: schema frozen to {path}")
    if spec.validation.schema_file is None:
        print(f"  to use it, add to the spec:  validation: {{schema: {os.path.basename(path)}}}")
    return EXIT_OK


def _run_check(check: Callable[[], Any]) -> Any:
    """Runs a validate/drift/freeze step; a missing or unreadable schema is a usage error."""
    from components.validation.schemas import SchemaFileError  # noqa: PLC0415
    from pipelines.validation import NoSchemaError  # noqa: PLC0415

    try:
        return check()
    except (NoSchemaError, SchemaFileError) as error:
        raise UsageError(str(error)) from None


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """What `compile` and `submit` need to know of the cluster (each overrides the spec's)."""
    parser.add_argument("--pipeline-root", metavar="URI", help="pipeline root on the cluster (gs://, s3://, …)")
    parser.add_argument("--image", metavar="IMAGE", help="container image with this project installed")
    parser.add_argument("--gpu-image", metavar="IMAGE",
                        help="the Trainer's image when the spec requests GPUs (the project on CUDA/cuDNN)")
    parser.add_argument("--data-dir", "--data-path", dest="data_path", metavar="URI",
                        help="the data directory (or file) as the cluster sees it (default: the spec's)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coursepipe", description="Run and deploy the TensorFlow 2 course models as TFX pipelines."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show TFX, TF and Beam logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str,
            takes_spec: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        if takes_spec:
            sub.add_argument("id", nargs="?", help="pipeline id (see 'coursepipe list')")
            sub.add_argument("--spec", metavar="FILE", help="a spec YAML file instead of an id")
        return sub

    add("list", cmd_list, "list every pipeline id with a one-line description", takes_spec=False)
    add("show", cmd_show, "print the resolved spec as YAML")

    run = add("run", cmd_run, "run a pipeline locally (LocalDagRunner on Beam)")
    run.add_argument("--output", metavar="DIR",
                     help="run directory: metadata, artifacts, pushed models (default runs/<id>)")
    run.add_argument("--data-dir", "--data-path", dest="data_dir", metavar="DIR",
                     help="read the source's files from DIR (or one data file) instead of the spec's data.path")
    run.add_argument("--json", action="store_true", help="print the run summary as JSON")
    run.add_argument("--source", metavar="SOURCE",
                     help="read another data source with the same features (e.g. mnist_5k for mnist)")
    run.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                     help="extra Beam pipeline argument, e.g. --beam-arg=--direct_num_workers=2")

    runs = add("runs", cmd_runs, "list a pipeline's past runs: time, span, metric, blessed, pushed path")
    runs.add_argument("--output", metavar="DIR", help="the run directory (default runs/<id>)")
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")

    report = add("report", cmd_report, "write one self-contained HTML page about a run")
    report.add_argument("--run", metavar="RUN", help="a run id from 'coursepipe runs' (default: the latest)")
    report.add_argument("--output", metavar="DIR", help="the run directory (default runs/<id>)")
    report.add_argument("--to", metavar="FILE", help="where to write (default <run directory>/reports/<run>.html)")

    data = add("data", cmd_data, "import a data source alone (the ExampleGen step) and describe it",
               takes_spec=False)
    data.add_argument("source", nargs="?", help="data source id, e.g. mnist_5k; none: list the sources")
    data.add_argument("--data-dir", metavar="DIR",
                      help="directory holding the source's files, or span-<N> folders of them")
    data.add_argument("--output", metavar="DIR", help="where the Examples go (default runs/data/<source>)")
    data.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="a source option, e.g. --option window=4")

    comp = add("compile", cmd_compile, "write the Kubeflow Pipelines v2 JSON of a pipeline")
    comp.add_argument("--output", metavar="FILE", help="where to write the JSON")
    comp.add_argument("--all", action="store_true", help="compile every shipped spec (with --output-dir)")
    comp.add_argument("--output-dir", metavar="DIR", help="with --all: where the <id>.json files go")
    _add_cluster_options(comp)

    sub = add("submit", cmd_submit, "compile a pipeline and start a run on Kubeflow Pipelines (kfp.Client)")
    sub.add_argument("--host", required=True, metavar="URL", help="the KFP API endpoint, e.g. http://localhost:8080")
    sub.add_argument("--experiment", default="course-pipelines", metavar="NAME", help="experiment of the run")
    _add_cluster_options(sub)
    sub.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a pipeline parameter for this run, e.g. train_epochs=50 or eval_lower_bound=0.95")

    local = add("run-compiled", cmd_run_compiled,
                "execute a compiled Kubeflow pipeline's steps here, as a cluster would (TFX's v2 entrypoint)",
                takes_spec=False)
    local.add_argument("file", help="the JSON 'coursepipe compile' wrote, compiled with a local --pipeline-root")
    local.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a pipeline parameter for this run, e.g. train_epochs=5")
    local.add_argument("--mount", action="append", default=[], metavar="IMAGE_PATH=LOCAL_PATH",
                       help="a path inside the image and its copy here (the shipped schemas are mounted already)")

    validate = add("validate", cmd_validate,
                   "check data against the pipeline's schema (exit 0 none, 1 anomalies, 2 bad input)")
    validate.add_argument("--data", required=True, metavar="FILE_OR_DIR",
                          help="a CSV of raw feature columns, TFRecords of tf.Example, or the source's own files")
    drift = add("drift", cmd_drift, "per-feature drift of --current against --baseline (exit 1 when any drifted)")
    drift.add_argument("--baseline", required=True, metavar="FILE_OR_DIR", help="the reference data (same forms as validate)")
    drift.add_argument("--current", required=True, metavar="FILE_OR_DIR", help="the new data")
    for sub in (validate, drift):
        sub.add_argument("--schema", metavar="FILE", help="a Schema .pbtxt instead of the pipeline's")
        sub.add_argument("--output", metavar="DIR", help="the pipeline's run directory (default runs/<id>)")
        sub.add_argument("--report", metavar="FILE", help="where the HTML view goes (default under the run directory)")

    schema = commands.add_parser("schema", help="curated schemas: 'schema freeze ID'",
                                 description="freeze: write the latest run's schema, curated, to pipelines/schemas/<id>.pbtxt")
    schema.set_defaults(handler=cmd_schema)
    schema.add_argument("action", choices=["freeze"])
    schema.add_argument("id", nargs="?", help="pipeline id")
    schema.add_argument("--spec", metavar="FILE", help="a spec YAML file instead of an id")
    schema.add_argument("--output", metavar="DIR", help="the run directory to read (default runs/<id>)")
    schema.add_argument("--to", metavar="FILE", help="where to write (default pipelines/schemas/<id>.pbtxt)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGPIPE"):
        # `coursepipe list | head`: stop quietly when the reader goes away, as shell tools do.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.handler(args)
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
    except (DataFileError, MissingDataError) as error:
        print(f"error: {error}", file=sys.stderr)
    except RuntimeError as error:
        data_error = _data_error_cause(error)
        if data_error is None:
            raise
        print(f"error: {data_error}", file=sys.stderr)
    return EXIT_USAGE


def _cause_of_type(error: BaseException, kinds: type | tuple[type, ...]) -> Any:
    """The exception of `kinds` behind an orchestrator's wrapper exception, if there is one."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kinds):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _data_error_cause(error: BaseException) -> BaseException | None:
    """The DataFileError behind an orchestrator's wrapper exception, if there is one."""
    return _cause_of_type(error, (DataFileError, MissingDataError))


if __name__ == "__main__":
    sys.exit(main())
