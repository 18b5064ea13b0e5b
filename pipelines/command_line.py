"""Keeping a program's own command line away from TFX's Beam executors.

TFX's Beam executors (StatisticsGen, Transform, Evaluator) parse `sys.argv` as absl flags:
`coursepipe -v run ID` would reach them as `--verbosity=run`, and a Kubeflow step's
`--node-ir …` as an unknown flag, and fail the step. While a node runs they see the program name only.
"""
from __future__ import annotations

import contextlib
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
