"""The process around a pipeline's nodes: its command line and its end.

TFX's Beam executors (StatisticsGen, Transform, Evaluator) parse `sys.argv` as absl flags:
`coursepipe -v run ID` would reach them as `--verbosity=run`, and a Kubeflow step's
`--node-ir …` as an unknown flag, and fail the step. While a node runs they see the program name
only (`command_line_hidden`). And a process that ran TFX ends without the interpreter's shutdown
(`exit_without_teardown`).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def command_line_hidden() -> Iterator[None]:
    saved = sys.argv[:]
    sys.argv[1:] = []
    try:
        yield
    finally:
        sys.argv[:] = saved


def exit_without_teardown(code: int) -> None:
    """Ends the process once its work and output are done, skipping the interpreter's shutdown.

    After a run, tearing down TensorFlow, TFX and Beam's modules took 1.6 s of a 7 s warm run and
    did nothing a user needs: every file is closed by then (ML Metadata commits each write, the
    runner's Beam pipelines have finished, the lock file is released with the process). With
    tensorflow-io's S3 filesystem loaded the shutdown even aborts ("pure virtual method called",
    exit 134) after a step succeeded. Output and log handlers are flushed first. In-process callers
    (tests) keep the normal path.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
