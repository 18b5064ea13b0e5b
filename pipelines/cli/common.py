"""What every `coursepipe` command shares: exit codes, usage errors, the spec a command is about,
the one `KEY=VALUE` parser, and how logs are shown.

Nothing here imports TensorFlow, TFX or Beam: `coursepipe list`, `--help` and the spec errors stay
fast. Commands import what they run inside their handlers.
"""
from __future__ import annotations

import argparse
import logging
import os
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

from components.sources.base import DataFileError, MissingDataError
from pipelines.runs.layout import default_output_dir
from pipelines.spec.pipeline_spec import PipelineSpec, load_spec, spec_ids, spec_path

if TYPE_CHECKING:
    from components.sources import DataLocation

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROJECT_PACKAGES = ("coursepipe", "pipelines", "components", "modules")
# The forms of data `validate`, `drift` and `predict` read.
DATA_FORMS = "a CSV of raw feature columns, TFRecords of tf.Example, or the source's own files"
# What TFX's launcher logs at ERROR when a component raises, before the command's own message.
ORCHESTRATOR_FAILURE_LINE = "Execution %d failed."

Handler = Callable[[argparse.Namespace], int]
# Adds one sub-command: (name, handler, help text, takes_spec) -> its parser.
AddCommand = Callable[..., argparse.ArgumentParser]


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


class ProjectLogFilter(logging.Filter):
    """Keeps the INFO lines of `packages` (default: this project's) and everyone's errors; TFX, TF
    and Beam chatter goes.

    A handler filter, not logger levels: TFX and absl reset their loggers' levels while running.
    """

    def __init__(self, packages: Sequence[str] = PROJECT_PACKAGES) -> None:
        super().__init__()
        self.packages = tuple(packages)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == ORCHESTRATOR_FAILURE_LINE:
            return False  # the command says which step failed and why, in its own words
        return record.levelno >= logging.ERROR or record.name.split(".")[0] in self.packages


def show_logs_of(packages: Sequence[str], replace_handlers: bool = False) -> None:
    """Plain-message INFO lines from the loggers of `packages` and everyone's errors, on stderr;
    `replace_handlers` drops root handlers set up before (a benchmark's imports may have added one)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=replace_handlers)
    # TF 2.16 prints harmless CUDA plugin "errors" at import on CPU-only machines.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for handler in logging.getLogger().handlers:
        handler.addFilter(ProjectLogFilter(packages))


def configure_logging(verbose: bool) -> None:
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        return
    show_logs_of(PROJECT_PACKAGES)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The pipeline a command is about: a shipped id, or `--spec FILE`."""
    parser.add_argument("id", nargs="?", help="pipeline id (see 'coursepipe list')")
    parser.add_argument("--spec", metavar="FILE", help="a spec YAML file instead of an id")


def own_spec_file(spec_id: str) -> str:
    """Where `coursepipe init ID` writes a user's spec by default: `ID.yaml` here."""
    return f"{spec_id}.yaml"


def spec_from_args(args: argparse.Namespace, heavy_rules: bool = True) -> PipelineSpec:
    """The spec of `ID` or `--spec FILE`, with `--source` swapped in where the command has it.

    Without `heavy_rules` the model's hyperparameters are not checked yet (that imports Keras):
    the command calls `spec.check_heavy_rules()` once its cheap checks passed.
    """
    if getattr(args, "spec", None):
        spec = PipelineSpec.from_yaml(args.spec, heavy_rules=heavy_rules)
    elif not args.id:
        raise UsageError("give a pipeline ID or --spec FILE (see 'coursepipe list')")
    elif args.id not in spec_ids() and os.path.isfile(own_spec_file(args.id)):
        spec = PipelineSpec.from_yaml(own_spec_file(args.id), heavy_rules=heavy_rules)
        if spec.id != args.id:
            raise UsageError(f"{args.id}: not a shipped pipeline, and {own_spec_file(args.id)} declares id "
                             f"{spec.id!r}; give --spec {own_spec_file(args.id)}")
        logging.getLogger(__name__).info("%s: the spec in %s", args.id, own_spec_file(args.id))
    elif args.id not in spec_ids() and os.path.isdir(default_output_dir(args.id)):
        raise UsageError(f"{args.id}: not a shipped pipeline, and there is no {own_spec_file(args.id)} here; "
                         f"{default_output_dir(args.id)} holds its runs: give --spec FILE, the spec they ran")
    else:
        spec = load_spec(args.id, heavy_rules=heavy_rules)
    if getattr(args, "source", None):
        # An explicit choice (mnist_5k for mnist), validated like a spec that names it.
        data = spec.model_dump(mode="json")
        data["data"] = {**data["data"], "source": args.source, "split": None, "options": {}}
        spec = PipelineSpec.from_dict(data, source=f"{spec.id} with --source {args.source}",
                                      heavy_rules=heavy_rules).read_from(
            getattr(args, "spec", None) or spec_path(spec.id))
    return spec


def run_data_location(spec: PipelineSpec, override: str | None, output_dir: str) -> DataLocation:
    """Where a run reads: --data-dir, else the spec's data.path, else the source's default."""
    from components.sources import get_source
    from pipelines.data.source_import import data_location

    field = "--data-dir" if override else "data.path"
    return data_location(get_source(spec.data.source), override or spec.data.path, field, output_dir)


def key_values(
    items: Sequence[str], option: str, parse_value: Callable[[str], Any] = str
) -> dict[str, Any]:
    """`["a=1", "b=2"]` -> {"a": "1", "b": "2"}, each value through `parse_value`; an item without
    '=' is a usage error naming `option`."""
    pairs = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        pairs[key] = parse_value(value)
    return pairs


def existing_path(path: str, option: str, expected: str) -> str:
    """`path` when it exists and can be read; else a usage error naming `option`, the path and what
    was expected. Checked before anything heavy is imported."""
    if not os.path.exists(path):
        raise UsageError(f"{option}: {path} does not exist; expected {expected}")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{option}: {path} cannot be read; expected {expected}")
    return path


def writable_directory(path: str, option: str) -> str:
    """`path` after checking that a command can create it or write in it; else a usage error naming
    `option` and the path. Nothing is created: a command that fails later on its input leaves no
    empty directory behind. Checked before anything heavy is imported or any artifact written."""
    path = os.path.abspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option}: {path} is a file; expected a directory (new or existing)")
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{option}: {path} cannot be created, {existing} is a file; expected a directory path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: {path} cannot be written, {existing} is not writable; expected a writable location")
    return path


def writable_file(path: str, option: str) -> str:
    """`path` after checking that a file can be written there (see `writable_directory`)."""
    if os.path.isdir(path):
        raise UsageError(f"{option}: {path} is a directory; expected a file path")
    writable_directory(os.path.dirname(os.path.abspath(path)), option)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{option}: {path} is not writable; expected a writable location")
    return path


def as_usage_error(check: Callable[[], Any], *also: type[Exception]) -> Any:
    """Runs `check`; a missing or unreadable schema (and any of `also`) becomes a usage error."""
    from components.validation.schemas import SchemaFileError
    from pipelines.data.checks import NoSchemaError  # heavy: only commands that check data call this

    try:
        return check()
    except (NoSchemaError, SchemaFileError, *also) as error:
        raise UsageError(str(error)) from None


def cause_of_type(error: BaseException, kinds: type | tuple[type, ...]) -> Any:
    """The exception of `kinds` behind an orchestrator's wrapper exception, if there is one."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kinds):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def data_error_cause(error: BaseException) -> BaseException | None:
    """The DataFileError behind an orchestrator's wrapper exception, if there is one."""
    return cause_of_type(error, (DataFileError, MissingDataError))
