"""What a benchmark prints: its own lines (progress per repeat, the tables) and anyone's errors.

Benchmarks that run pipelines in their own process get TFX's, absl's, TF's and Beam's INFO records
too, and TFX raises absl's verbosity while a pipeline runs (so does `pipelines.runs.progress`, to read
the runner's records), which undoes any logger level set beforehand: one in-process MNIST run
printed about 5,000 lines of TFX's deployment config and executor properties between the rows of
`make bench`. A filter on the handler, set up as the CLI sets up its own, keeps them out whatever the levels.
"""
from __future__ import annotations

from pipelines.cli.common import show_logs_of

BENCHMARK_PACKAGE = "benchmarks"


def configure_logging() -> None:
    """Plain-message lines on stderr from loggers under `benchmarks.`, errors from all."""
    show_logs_of((BENCHMARK_PACKAGE,), replace_handlers=True)
