"""The health of a local run's ML Metadata store, and starting over beside a damaged one.

A truncated or overwritten `metadata.sqlite` makes ML Metadata fail with a bare SQL error ("database
disk image is malformed") that names no file. `check_metadata_store` reads the file with Python's
own sqlite3 (no TFX import, so the answer is fast) and raises `DamagedStoreError`, which says which
file, that the pushed models are untouched, and how to start over.

Starting over (`coursepipe run --fresh`) moves the store *and* the pipeline root aside into
`previous-<time>/`: a new store numbers its executions from 1 again, and TFX names output
directories by execution id, so a new store over the old root would collide with the old artifacts
(ImportSchemaGen's `AlreadyExistsError`). Nothing is deleted; the serving directory stays.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time

from pipelines.runs.layout import RunLayout

logger = logging.getLogger(__name__)

SET_ASIDE_PREFIX = "previous-"


class DamagedStoreError(Exception):
    """The run directory's ML Metadata store cannot be read (a usage error, exit 2)."""


def check_metadata_store(layout: RunLayout, spec_reference: str) -> None:
    """Raises `DamagedStoreError` when `layout`'s store exists and SQLite finds it damaged."""
    path = layout.metadata_path
    if not os.path.exists(path):
        return
    problem = None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            verdict = connection.execute("PRAGMA quick_check").fetchone()
        if not verdict or verdict[0] != "ok":
            problem = verdict[0] if verdict else "no answer to an integrity check"
    except sqlite3.DatabaseError as error:
        problem = str(error)
    if problem is not None:
        raise DamagedStoreError(
            f"{path}: the ML Metadata store is damaged ({problem}); the models pushed to "
            f"{layout.serving_dir} are untouched. To start over, run 'coursepipe run {spec_reference} --fresh' "
            f"(with the same --output): it moves the store and pipeline/ aside into "
            f"{os.path.join(layout.output_dir, SET_ASIDE_PREFIX + '<time>')}/ and starts new ones"
        )


def set_aside(layout: RunLayout) -> str | None:
    """Moves the store and the pipeline root into `previous-<time>/`; returns that directory, or
    None when there was nothing to move. Call it while holding the run directory's lock."""
    moved = [path for path in (layout.metadata_path, layout.pipeline_root) if os.path.exists(path)]
    if not moved:
        return None
    base = os.path.join(layout.output_dir, SET_ASIDE_PREFIX + time.strftime("%Y%m%d-%H%M%S"))
    target, suffix = base, 1
    while os.path.exists(target):
        target, suffix = f"{base}.{suffix}", suffix + 1
    os.makedirs(target)
    for path in moved:
        os.rename(path, os.path.join(target, os.path.basename(path)))
    logger.info("Moved %s aside into %s", ", ".join(os.path.basename(p) for p in moved), target)
    return target
