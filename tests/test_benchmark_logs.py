"""What `make bench` prints: each benchmark's own lines and everyone's errors, not the INFO records
TFX logs through absl while a pipeline runs in the benchmark's process (about 25,000 lines between
the tables of one `performance_goals` run before `benchmarks.logs`)."""
from __future__ import annotations

import logging

import pytest
from absl import logging as absl_logging

from benchmarks.logs import configure_logging


@pytest.fixture
def restored_root_logging():
    """configure_logging replaces the root handlers (pytest's own among them): put them back."""
    root = logging.getLogger()
    handlers, level, verbosity = root.handlers[:], root.level, absl_logging.get_verbosity()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    absl_logging.set_verbosity(verbosity)


def test_a_benchmark_prints_its_lines_and_errors_but_not_tfx_info(restored_root_logging, capsys):
    configure_logging()
    absl_logging.set_verbosity(absl_logging.INFO)  # what TFX's runner and pipelines.runs.progress do mid-run
    logging.getLogger("absl").info("Using deployment config:\n executor_specs {...}")
    logging.getLogger("apache_beam.runners").info("Running pipeline")
    logging.getLogger("pipelines.runs.progress").info("[3/10] StatisticsGen executed in 2.5 s")
    logging.getLogger("benchmarks.performance_goals").info("| goal | target |")
    logging.getLogger("tfx.orchestration").error("Component Trainer failed")

    printed = capsys.readouterr().err.splitlines()
    assert printed == ["| goal | target |", "Component Trainer failed"]
