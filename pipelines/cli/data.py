"""Commands about data, validation and schemas: `data`, `validate`, `drift`, `schema freeze`.

`data` runs a source's ExampleGen alone (`pipelines.data.source_import`); the others check data without
running the pipeline (`pipelines.data.checks`).
"""
from __future__ import annotations

import argparse
import os
import re
import time

import yaml
from pydantic import ValidationError

from components.sources import DataSource
from components.sources.columns import TableOptions
from pipelines.cli import output
from pipelines.cli.common import (
    DATA_FORMS,
    EXIT_FAILED,
    EXIT_OK,
    AddCommand,
    UsageError,
    as_usage_error,
    existing_path,
    key_values,
    own_spec_file,
    spec_from_args,
    writable_directory,
    writable_file,
)
from pipelines.spec.errors import error_message, problems_from_validation


def cmd_data(args: argparse.Namespace) -> int:
    from components.sources import SOURCES, get_source
    from pipelines.data.source_import import import_source  # heavy: TFX, TF, Beam

    if args.source is None:
        output.print_sources(list(SOURCES.values()))
        return EXIT_OK
    try:
        source = get_source(args.source)
    except (KeyError, ImportError) as error:
        raise UsageError(error_message(error)) from None
    output_dir = writable_directory(args.output or os.path.join("runs", "data", source.id), "--output")
    try:
        # Option values are YAML: `window=4`, `size=[32, 32]`, `color=rgb`.
        options = source.parse_options(key_values(args.option, "--option", yaml.safe_load))
    except ValidationError as error:
        problems = problems_from_validation(source.options_class, error, prefix="--option ",
                                            unknown_key=f"unknown option for source {source.id!r}")
        raise UsageError("; ".join(str(p) for p in problems)) from None
    if isinstance(options, TableOptions) and not options.columns:
        _print_declarations(source, args.data_dir)
        return EXIT_OK
    started = time.monotonic()
    imported = import_source(source.id, output_dir, path=args.data_dir,
                             options=options.model_dump(mode="json"))
    output.print_imported_data(source.id, imported, time.monotonic() - started)
    return EXIT_OK


def _print_declarations(source: DataSource, path: str | None) -> None:
    """A table source without declared columns: what its files hold, as spec lines to paste."""
    from components.sources import locate
    from components.sources.profiles import ProfileNotes, declared_columns_yaml, profile_files

    if path is None:
        raise UsageError(f"--data-dir: the {source.id} source reads your own files; expected a file or directory")
    files = locate(source, path, "--data-dir").newest_files()
    notes = ProfileNotes()
    profiles = profile_files(source.id, files, notes)
    print(declared_columns_yaml(source.id, os.path.abspath(path), profiles, notes.options()), end="")
    for note in notes.lines():
        print(f"# {note}")


def cmd_validate(args: argparse.Namespace) -> int:
    """Checks data against the pipeline's schema; exit 1 when anomalies (not warnings) are found."""
    spec = spec_from_args(args, heavy_rules=False)
    existing_path(args.data, "--data", DATA_FORMS)
    _check_report_path(args)
    from components.validation.anomalies import errors_and_warnings
    from pipelines.data.checks import validate_path  # heavy: TFDV, TF

    spec.check_heavy_rules()
    result = as_usage_error(lambda: validate_path(spec, args.data, args.output, args.schema, args.report))
    errors, _ = errors_and_warnings(result.outcome.rows, spec.validation.warn_on)
    output.print_validation(spec, result)
    return EXIT_FAILED if errors else EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    """Per-feature drift distances of --current against --baseline; exit 1 when any drifted, or
    when either side has schema anomalies or a feature the other lacks (a feature that cannot be
    compared is a finding, never a silent omission)."""
    spec = spec_from_args(args, heavy_rules=False)
    existing_path(args.baseline, "--baseline", DATA_FORMS)
    existing_path(args.current, "--current", DATA_FORMS)
    _check_report_path(args)
    from components.validation.checks import COMPARATOR_KINDS
    from pipelines.data.checks import drift_between  # heavy: TFDV, TF

    spec.check_heavy_rules()
    result = as_usage_error(lambda: drift_between(spec, args.baseline, args.current, args.output, args.schema, args.report))
    problems = [row for row in result.outcome.rows if row.kind not in COMPARATOR_KINDS]
    drifted = output.print_drift(spec, result, problems)
    return EXIT_FAILED if drifted or problems else EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """`schema freeze ID`: the latest run's schema, curated, into pipelines/schemas/<id>.pbtxt."""
    from pipelines.data.checks import freeze_schema

    spec = spec_from_args(args)
    if args.to:
        writable_file(args.to, "--to")
    path = as_usage_error(lambda: freeze_schema(spec, args.output, args.to))
    print(f"{spec.id}: schema frozen to {path}")
    if spec.validation.schema_file is None:
        print(f"  to use it, add to the spec:  validation: {{schema: {os.path.basename(path)}}}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Writes ID.yaml for a table of the user's own: `coursepipe run --spec ID.yaml` runs it."""
    from pipelines.spec.from_data import initial_spec
    from pipelines.spec.pipeline_spec import ID_PATTERN, PipelineSpec

    if not re.match(ID_PATTERN, args.id):
        raise UsageError(f"ID: {args.id!r} expected lower-case letters, digits and _ (a spec id, {ID_PATTERN})")
    existing_path(args.data, "--data", "a CSV file, TFRecords of tf.Example, or a directory of them")
    target = args.to or own_spec_file(args.id)
    if os.path.exists(target) and not args.force:
        raise UsageError(f"--to: {target} exists; expected a new file (or --force to replace it)")
    writable_file(target, "--to")
    initial = initial_spec(args.id, args.data, args.label, args.task)
    text = initial.to_yaml(args.data)
    PipelineSpec.from_dict(yaml.safe_load(text), source=target)  # what init writes must be a valid spec
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"{args.id}: wrote {target}")
    for name, why in initial.left_out.items():
        print(f"  left out of the model's inputs: {name} ({why})")
    for note in initial.notes:
        print(f"  {note}")
    print(f"  gate: {initial.gate}")
    print(f"  run it:  coursepipe run --spec {target}")
    return EXIT_OK


def _check_report_path(args: argparse.Namespace) -> None:
    """`--report` must be writable before any data is read: exit 1 means anomalies, not a bad path."""
    if args.report:
        writable_file(args.report, "--report")


def register(add: AddCommand) -> None:
    data = add("data", cmd_data, "import a data source alone (the ExampleGen step) and describe it",
               takes_spec=False)
    data.add_argument("source", nargs="?", help="data source id, e.g. mnist_5k; none: list the sources")
    data.add_argument("--data-dir", metavar="DIR",
                      help="directory holding the source's files, or span-<N> folders of them")
    data.add_argument("--output", metavar="DIR", help="where the Examples go (default runs/data/<source>)")
    data.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="a source option, e.g. --option window=4")

    init = add("init", cmd_init, "write a pipeline spec for your own CSV or TFRecords (then: run --spec ID.yaml)",
               takes_spec=False)
    init.add_argument("id", help="the new pipeline's id (lower-case, digits, _)")
    init.add_argument("--data", required=True, metavar="FILE_OR_DIR", help="a CSV file, TFRecords, or a directory of them")
    init.add_argument("--label", required=True, metavar="COLUMN", help="the column to predict")
    init.add_argument("--task", choices=["classification", "regression"],
                      help="default: classification for strings and integers with few values, else regression")
    init.add_argument("--to", metavar="FILE", help="where the spec goes (default ID.yaml here)")
    init.add_argument("--force", action="store_true", help="replace --to if it exists")

    validate = add("validate", cmd_validate,
                   "check data against the pipeline's schema (exit 0 none, 1 anomalies, 2 bad input)")
    validate.add_argument("--data", required=True, metavar="FILE_OR_DIR",
                          help=DATA_FORMS)
    drift = add("drift", cmd_drift, "per-feature drift of --current against --baseline (exit 1 when any drifted)")
    drift.add_argument("--baseline", required=True, metavar="FILE_OR_DIR", help="the reference data (same forms as validate)")
    drift.add_argument("--current", required=True, metavar="FILE_OR_DIR", help="the new data")
    for sub in (validate, drift):
        sub.add_argument("--schema", metavar="FILE", help="a Schema .pbtxt instead of the pipeline's")
        sub.add_argument("--output", metavar="DIR", help="the pipeline's run directory (default runs/<id>)")
        sub.add_argument("--report", metavar="FILE", help="where the HTML view goes (default under the run directory)")

    schema = add("schema", cmd_schema, "curated schemas: 'schema freeze ID'",
                 description="freeze: write the latest run's schema, curated, to pipelines/schemas/<id>.pbtxt",
                 takes_spec=False)
    schema.add_argument("action", choices=["freeze"])
    schema.add_argument("id", nargs="?", help="pipeline id")
    schema.add_argument("--spec", metavar="FILE", help="a spec YAML file instead of an id")
    schema.add_argument("--output", metavar="DIR", help="the run directory to read (default runs/<id>)")
    schema.add_argument("--to", metavar="FILE", help="where to write (default pipelines/schemas/<id>.pbtxt)")
