"""Progress lines come from the orchestrator's own records: started, executed or cached, elapsed."""
from __future__ import annotations

import logging

from absl import logging as absl_logging

from pipelines.runs.progress import ORCHESTRATOR_LOGGER, component_progress


def _say(message: str) -> None:
    logging.getLogger(ORCHESTRATOR_LOGGER).info(message)


def test_one_line_per_component_start_and_end(caplog):
    caplog.set_level(logging.INFO, logger="pipelines.runs.progress")
    with component_progress(total=2) as progress:
        _say("Component CourseExampleGen is running.")
        _say("Going to run a new execution 1")
        _say("Component CourseExampleGen is finished.")
        _say("Component Trainer is running.")
        _say("A cached execution 7 is used.")
        _say("Component Trainer is finished.")
    lines = [r.getMessage() for r in caplog.records if r.name == "pipelines.runs.progress"]
    assert lines[0] == "[1/2] CourseExampleGen ..."
    assert lines[1].startswith("[1/2] CourseExampleGen executed in ")
    assert lines[2] == "[2/2] Trainer ..."
    assert lines[3].startswith("[2/2] Trainer from cache in ")
    assert progress.index == 2


def test_verbosity_survives_code_that_silences_and_restores_absl(caplog):
    """TF's checkpointing sets absl to FATAL and back to absl's verbosity in the middle of a run."""
    caplog.set_level(logging.INFO, logger="pipelines.runs.progress")
    before = absl_logging.get_verbosity()
    with component_progress(total=1):
        saved = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.FATAL)
        absl_logging.set_verbosity(saved)
        _say("Component Pusher is running.")
    assert absl_logging.get_verbosity() == before
    assert [r.getMessage() for r in caplog.records if r.name == "pipelines.runs.progress"] == ["[1/1] Pusher ..."]
