"""Commands about local runs: `list`, `show`, `run`, `runs`, `report`.

`run` hands the spec to `pipelines.runs.local_runner` and prints what ML Metadata recorded of the run;
`runs` and `report` read the same store afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import yaml

from modules.pretrained import missing_weights
from modules.spec_sections import GAN_STYLES
from pipelines.cli import output
from pipelines.cli.common import (
    DATA_FORMS,
    EXIT_FAILED,
    EXIT_OK,
    AddCommand,
    UsageError,
    as_usage_error,
    cause_of_type,
    data_error_cause,
    existing_path,
    run_data_location,
    spec_from_args,
    writable_directory,
    writable_file,
)
from pipelines.runs.layout import RunLayout, layout_for
from pipelines.runs.lock import RunDirectoryBusyError
from pipelines.runs.metadata_store import check_metadata_store
from pipelines.spec.pipeline_spec import PipelineSpec, spec_ids, spec_path


def cmd_list(args: argparse.Namespace) -> int:
    """Ids and descriptions straight from the YAML: a list needs no validation (`show` and `run`
    validate), and a spec with a mistake is still listed, so its id can be shown and fixed."""
    for spec_id in spec_ids():
        with open(spec_path(spec_id), encoding="utf-8") as handle:
            description = (yaml.safe_load(handle) or {}).get("description", "")
        print(f"{spec_id:28s} {description}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    print(spec_from_args(args).to_yaml(), end="")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Runs the pipeline locally; exit 1 when a component failed or the data gate stopped it."""
    spec = spec_from_args(args, heavy_rules=False)
    layout = layout_for(spec, args.output)
    writable_directory(layout.output_dir, "--output")
    if not args.fresh:
        check_metadata_store(layout, spec.reference)
    location = run_data_location(spec, args.data_dir, layout.output_dir)
    missing = missing_weights(spec.model.name, spec.model.hparams)
    if missing is not None:
        raise UsageError(missing)
    # Only now what imports TensorFlow: every mistake above is reported in well under a second.
    spec.check_heavy_rules()
    from components.validation.anomalies import DataAnomaliesError
    from pipelines.runs.local_runner import run_local
    from pipelines.runs.summary import latest_run_summary
    started = time.monotonic()
    try:
        layout = run_local(spec, args.output, data=location, beam_args=args.beam_arg, enable_cache=not args.no_cache,
                           fresh=args.fresh)
    except RunDirectoryBusyError:
        raise  # a usage error (exit 2), not a failed pipeline
    except Exception as error:  # a component's own exception, of whatever type its code raises
        if data_error_cause(error) is not None:
            raise
        anomalies = cause_of_type(error, DataAnomaliesError)
        if anomalies is not None:
            output.print_rejected_data(spec, anomalies.rows, anomalies.report, time.monotonic() - started)
            return EXIT_FAILED
        failed = latest_run_summary(layout.metadata_path).failed if os.path.exists(layout.metadata_path) else []
        output.print_failed_run(spec, failed, error)
        return EXIT_FAILED
    summary = latest_run_summary(layout.metadata_path)
    elapsed = time.monotonic() - started
    if args.json:
        output.print_run_json(spec, summary, elapsed, layout.output_dir)
    else:
        output.print_run_summary(spec, summary, elapsed, layout.output_dir)
    return EXIT_OK if not summary.failed else EXIT_FAILED


def recorded_runs(spec: PipelineSpec, output: str | None) -> RunLayout:
    """The run directory of `spec`, after checking that it holds a readable ML Metadata store."""
    layout = layout_for(spec, output)
    if not os.path.exists(layout.metadata_path):
        raise UsageError(f"{spec.id}: no runs in {layout.output_dir} (no metadata.sqlite); "
                         f"run 'coursepipe run {spec.reference}' first, or give --output DIR")
    check_metadata_store(layout, spec.reference)
    return layout


def cmd_runs(args: argparse.Namespace) -> int:
    """Past runs of a pipeline, from the ML Metadata store of its run directory."""
    spec = spec_from_args(args, heavy_rules=False)
    layout = recorded_runs(spec, args.output)
    from pipelines.runs.summary import run_summaries  # heavy: ML Metadata, TFMA

    summaries = run_summaries(layout.metadata_path)
    if args.json:
        print(json.dumps([output.summary_json(s) for s in summaries], indent=2))
    else:
        output.print_run_history(spec, summaries)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """One self-contained HTML page about a run (default: the latest)."""
    spec = spec_from_args(args, heavy_rules=False)
    layout = recorded_runs(spec, args.output)
    if args.to:
        writable_file(args.to, "--to")
    from components.splits import TRAIN_SPLIT
    from components.validation.html_view import write_report
    from pipelines.runs.report import run_report_html  # heavy: TFX (the pipeline's graph), TFMA
    from pipelines.runs.summary import run_summaries, split_statistics

    summaries = run_summaries(layout.metadata_path)
    chosen = [s for s in summaries if args.run in (None, s.run_id)]
    if not chosen:
        raise UsageError(f"--run: no run {args.run!r} in {layout.output_dir}; expected one of: "
                         + ", ".join(s.run_id for s in summaries))
    summary = chosen[-1]
    statistics = split_statistics(summary.statistics_uri, TRAIN_SPLIT) if summary.statistics_uri else None
    path = args.to or os.path.join(layout.output_dir, "reports", f"{summary.run_id.replace(':', '-')}.html")
    write_report(path, run_report_html(spec, summary, statistics))
    print(f"{spec.id}: report of run {summary.run_id} written to {os.path.abspath(path)}")
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    """Scores data with a pushed model's serving signature; exit 1 (nothing scored) on anomalies."""
    spec = spec_from_args(args, heavy_rules=False)
    if spec.training.style in GAN_STYLES:
        raise UsageError(f"{spec.id}: a generator scores no data; its pushed model's serving_default takes latent "
                         "vectors z (and from_seeds integer seeds) and returns pictures (see 'Generative models')")
    existing_path(args.data, "--data", DATA_FORMS)
    writable_file(args.to, "--to")
    layout = layout_for(spec, args.output)
    from pipelines.data.predictions import (  # heavy: TF, TFDV
        NoModelError,
        checked_data,
        model_directory,
        predict,
        prediction_rows,
        serving_signature,
        with_carried_columns,
        write_predictions,
    )

    model_dir = as_usage_error(lambda: model_directory(layout.serving_dir, args.model), NoModelError)
    signature = as_usage_error(lambda: serving_signature(model_dir), NoModelError)
    keep = tuple(args.keep)
    checked = as_usage_error(lambda: checked_data(spec, args.data, args.output, keep))
    if not checked.ok:
        output.print_refused_predictions(spec, checked)
        return EXIT_FAILED
    header, rows = prediction_rows(spec, predict(signature, checked.data.examples))
    header, rows = with_carried_columns(header, rows, keep, checked.data.carried)
    write_predictions(args.to, header, rows)
    print(f"{spec.id}: {len(rows)} predictions of {output.checked_data_line((checked.data,))} by {model_dir} "
          f"written to {os.path.abspath(args.to)}")
    return EXIT_OK


def register(add: AddCommand) -> None:
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
    run.add_argument("--fresh", action="store_true",
                     help="start a new ML Metadata store: the old store and pipeline/ move into "
                          "previous-<time>/ (after a damaged store; pushed models stay)")
    run.add_argument("--no-cache", action="store_true",
                     help="execute every component, whatever earlier runs recorded (the code's "
                          "fingerprint already invalidates the cache when modules change)")

    runs = add("runs", cmd_runs, "list a pipeline's past runs: time, span, metric, blessed, pushed path")
    runs.add_argument("--output", metavar="DIR", help="the run directory (default runs/<id>)")
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")

    report = add("report", cmd_report, "write one self-contained HTML page about a run")
    report.add_argument("--run", metavar="RUN", help="a run id from 'coursepipe runs' (default: the latest)")
    report.add_argument("--output", metavar="DIR", help="the run directory (default runs/<id>)")
    report.add_argument("--to", metavar="FILE", help="where to write (default <run directory>/reports/<run>.html)")

    scores = add("predict", cmd_predict, "score data with a pushed model (its serving signature) into a CSV")
    scores.add_argument("--data", required=True, metavar="FILE_OR_DIR", help=DATA_FORMS)
    scores.add_argument("--to", required=True, metavar="FILE", help="the CSV to write: one row per example")
    scores.add_argument("--keep", action="append", default=[], metavar="COLUMN",
                        help="a column of the data (CSV of the model's columns) copied into each prediction's row, "
                        "e.g. an id to join the predictions back")
    scores.add_argument("--model", default="latest", metavar="latest|DIR",
                        help="the newest pushed model of the run directory (default), or a SavedModel directory")
    scores.add_argument("--output", metavar="DIR", help="the run directory (default runs/<id>)")
