"""One line per component as it starts and ends, from the orchestrator's own log records.

`LocalDagRunner` says "Component X is running." / "Component X is finished." (and its launcher
"A cached execution N is used.") through absl at INFO, a level the default output hides. This
handler turns those records into the project's own progress lines: index/total, name, elapsed,
executed or cached.
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import Iterator

from absl import logging as absl_logging

logger = logging.getLogger(__name__)

_RUNNING = re.compile(r"^Component (\S+) is running\.$")
_FINISHED = re.compile(r"^Component (\S+) is finished\.$")
_CACHED = re.compile(r"^A cached execution \d+ is used\.$")
ORCHESTRATOR_LOGGER = "absl"


class ComponentProgress(logging.Handler):
    """Reads the runner's records; logs `[i/n] name ...` and `[i/n] name executed in 3.2 s`."""

    def __init__(self, total: int) -> None:
        super().__init__(level=logging.INFO)
        self.total = total
        self.index = 0
        self._current: str | None = None
        self._started = 0.0
        self._cached = False
        self.seconds: dict[str, float] = {}  # component id -> elapsed (benchmarks read these)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if match := _RUNNING.match(message):
            self.index += 1
            self._current, self._started, self._cached = match.group(1), time.monotonic(), False
            logger.info("[%d/%d] %s ...", self.index, self.total, self._current)
        elif _CACHED.match(message) and self._current is not None:
            self._cached = True
        elif (match := _FINISHED.match(message)) and match.group(1) == self._current:
            outcome = "from cache" if self._cached else "executed"
            self.seconds[self._current] = time.monotonic() - self._started
            logger.info("[%d/%d] %s %s in %.1f s", self.index, self.total, self._current, outcome,
                        self.seconds[self._current])
            self._current = None


@contextlib.contextmanager
def component_progress(total: int) -> Iterator[ComponentProgress]:
    """Attaches a `ComponentProgress` to the orchestrator's logger for the duration of a run.

    The level is raised through absl's own verbosity, not the logger's: TF's checkpoint code
    silences absl while saving and then restores absl's verbosity, which would otherwise drop
    the orchestrator back to WARNING halfway through a run.
    """
    orchestrator = logging.getLogger(ORCHESTRATOR_LOGGER)
    handler = ComponentProgress(total)
    previous_verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(max(previous_verbosity, absl_logging.INFO))  # absl: higher = more
    orchestrator.addHandler(handler)
    try:
        yield handler
    finally:
        orchestrator.removeHandler(handler)
        absl_logging.set_verbosity(previous_verbosity)
