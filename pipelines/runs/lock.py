"""One run per output directory at a time.

Two runs writing one ML Metadata store and one serving directory at once would each push a model
and each read the other's executions as its own. A run takes an exclusive `flock` on
`<output>/.run.lock` for as long as it runs; a second run finds it taken and stops with a
`RunDirectoryBusyError` that names the directory and the run holding it. The kernel releases the
lock when the holding process ends, however it ends, so a run killed with SIGKILL leaves no lock
that blocks the next one (the file stays, holding the last holder's description).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from typing import Iterator

LOCK_FILE = ".run.lock"


class RunDirectoryBusyError(Exception):
    """Another run holds the output directory (a usage error, exit 2: not a failed pipeline)."""


def lock_path(output_dir: str) -> str:
    return os.path.join(output_dir, LOCK_FILE)


def _holder(path: str) -> str:
    """Who holds the lock, as the holder wrote it down."""
    try:
        with open(path, encoding="utf-8") as handle:
            holder = json.load(handle)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder["started"]))
        return f"process {holder['pid']}, started {started}: {holder['command']}"
    except (OSError, ValueError, KeyError):
        return "another process"


def is_locked(output_dir: str) -> bool:
    """Whether a run holds `output_dir` now (False when there is no lock file)."""
    path = lock_path(output_dir)
    if not os.path.exists(path):
        return False
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextlib.contextmanager
def exclusive_run(output_dir: str) -> Iterator[None]:
    """Holds `output_dir` for the duration; raises `RunDirectoryBusyError` when a run holds it."""
    os.makedirs(output_dir, exist_ok=True)
    path = lock_path(output_dir)
    handle = open(path, "a+", encoding="utf-8")  # not "w": the holder's description stays readable
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirectoryBusyError(
                f"{output_dir}: another run is using this output directory ({_holder(path)}); "
                "wait for it to finish, or give another --output"
            ) from None
        handle.seek(0)
        handle.truncate()
        json.dump({"pid": os.getpid(), "started": time.time(), "command": " ".join(sys.argv)}, handle)
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
