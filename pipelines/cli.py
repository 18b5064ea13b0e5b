"""`coursepipe`: list, show, run and compile the course pipelines.

Exit codes: 0 success, 1 the pipeline failed, 2 bad usage or input (unknown id, invalid spec,
missing data file) with one message naming the file, the field and what was expected.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Callable, Sequence

from pipelines.errors import SpecError
from pipelines.spec import PipelineSpec, load_spec, spec_ids, spec_path

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
        return PipelineSpec.from_yaml(args.spec)
    if not args.id:
        raise UsageError("give a pipeline ID or --spec FILE (see 'coursepipe list')")
    return load_spec(args.id)


def _data_path(spec: PipelineSpec, override: str | None) -> str:
    """The data file a run reads; a missing one is a usage error naming the field."""
    from components.sources import get_source  # noqa: PLC0415  (keeps `list` fast)

    if override:
        path, field = override, "--data-path"
    elif spec.data.path:
        path, field = spec.data.path, "data.path"
    else:
        path, field = get_source(spec.data.source).default_path(), f"the {spec.data.source} default"
    if not os.path.isfile(path):
        raise UsageError(
            f"{field}: data file {path!r} not found; expected a {spec.data.source} data file"
        )
    return path


def cmd_list(args: argparse.Namespace) -> int:
    for spec_id in spec_ids():
        spec = PipelineSpec.from_yaml(spec_path(spec_id))
        print(f"{spec_id:28s} {spec.description}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    print(_spec_from_args(args).to_yaml(), end="")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runners.local import run_local  # noqa: PLC0415  (heavy: TFX, TF, Beam)
    from pipelines.summary import latest_run_summary  # noqa: PLC0415

    spec = _spec_from_args(args)
    data_path = _data_path(spec, args.data_path)
    started = time.monotonic()
    try:
        layout = run_local(spec, args.output, data_path=data_path, beam_args=args.beam_arg)
    except RuntimeError as error:
        logger.error("%s: the pipeline failed: %s", spec.id, error)
        return EXIT_FAILED
    summary = latest_run_summary(layout.metadata_path)
    elapsed = time.monotonic() - started
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
    if summary.blessed:
        print("  blessed: yes")
    else:
        reasons = "; ".join(summary.validation_failures) or "thresholds not met"
        print(f"  blessed: no ({reasons})")
    print(f"  pushed to: {summary.pushed_destination or 'nothing pushed'}")
    print(f"  run directory: {layout.output_dir}")
    return EXIT_OK if not summary.failed else EXIT_FAILED


def cmd_compile(args: argparse.Namespace) -> int:
    from pipelines.runners.kubeflow import compile_for_kubeflow  # noqa: PLC0415

    spec = _spec_from_args(args)
    compile_for_kubeflow(
        spec, args.output, pipeline_root=args.pipeline_root, image=args.image, data_path=args.data_path
    )
    print(f"{spec.id}: Kubeflow pipeline written to {args.output}")
    return EXIT_OK


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
    run.add_argument("--data-path", metavar="FILE", help="read this data file instead of the spec's")
    run.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                     help="extra Beam pipeline argument, e.g. --beam-arg=--direct_num_workers=2")

    comp = add("compile", cmd_compile, "write the Kubeflow Pipelines v2 JSON of a pipeline")
    comp.add_argument("--output", required=True, metavar="FILE", help="where to write the JSON")
    comp.add_argument("--pipeline-root", metavar="URI", help="pipeline root on the cluster (gs://, s3://, …)")
    comp.add_argument("--image", metavar="IMAGE", help="container image with this project installed")
    comp.add_argument("--data-path", metavar="URI",
                      help="the data file as the cluster sees it (default: the spec's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.handler(args)
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
