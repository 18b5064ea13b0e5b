"""`coursepipe`: list, show, run and compile the course pipelines.

One module per group of commands (`local_runs`, `data`, `kubeflow`), each registering its own
sub-commands; what they share lives in `common` and everything they print in `output`.

Exit codes: 0 success, 1 the pipeline failed, 2 bad usage or input (unknown id, invalid spec,
missing data file) with one message naming the file, the field and what was expected.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Sequence

from components.sources.base import DataFileError, MissingDataError
from pipelines.cli import data, kubeflow, local_runs
from pipelines.cli.common import (
    EXIT_USAGE,
    Handler,
    UsageError,
    add_spec_arguments,
    configure_logging,
    data_error_cause,
)
from pipelines.command_line import exit_without_teardown
from pipelines.runs.lock import RunDirectoryBusyError
from pipelines.runs.metadata_store import DamagedStoreError
from pipelines.spec.errors import SpecError

COMMAND_GROUPS = (local_runs, data, kubeflow)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coursepipe", description="Run and deploy the TensorFlow 2 course models as TFX pipelines."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show TFX, TF and Beam logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str, takes_spec: bool = True,
            description: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=description or help_text)
        sub.set_defaults(handler=handler)
        if takes_spec:
            add_spec_arguments(sub)
        return sub

    for group in COMMAND_GROUPS:
        group.register(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; `argv` None means the command line of this process (`coursepipe ...`)."""
    from_command_line = argv is None
    if from_command_line and hasattr(signal, "SIGPIPE"):
        # `coursepipe list | head`: stop quietly when the reader goes away, as shell tools do.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    code = _run_handler(args)
    if from_command_line:
        exit_without_teardown(code)
    return code


def _run_handler(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except (SpecError, UsageError, DataFileError, MissingDataError, RunDirectoryBusyError, DamagedStoreError) as error:
        print(f"error: {error}", file=sys.stderr)
    except RuntimeError as error:
        data_error = data_error_cause(error)
        if data_error is None:
            raise
        print(f"error: {data_error}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
