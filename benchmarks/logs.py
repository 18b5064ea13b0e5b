"""What a benchmark prints: its own lines (progress per repeat, the tables) and anyone's errors.

Benchmarks that run pipelines in their own process get TFX's, absl's, TF's and Beam's INFO records
too, and TFX raises absl's verbosity while a pipeline runs (so does `pipelines.progress`, to read
the runner's records), which undoes any logger level set beforehand: one in-process MNIST run
printed about 5,000 lines of TFX's deployment config and executor properties between the rows of
`make bench`. A filter on the handler, the one the CLI uses, keeps them out whatever the levels.
"""
from __future__ import annotations

import logging
import os

from pipelines.cli.common import ProjectLogFilter

BENCHMARK_PACKAGE = "benchmarks"


def configure_logging(level: int = logging.INFO) -> None:
    """Plain-message lines on stderr from loggers under `benchmarks.` at `level`, errors from all."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TF's C++ start-up lines on CPU-only machines
    logging.basicConfig(level=level, format="%(message)s", force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(ProjectLogFilter(packages=(BENCHMARK_PACKAGE,)))
