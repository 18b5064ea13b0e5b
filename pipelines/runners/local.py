"""Run a pipeline on this machine: `LocalDagRunner`, SQLite ML Metadata, Beam's DirectRunner.

Everything of one pipeline lives under one output directory (`pipelines.run_layout`).
Caching is on, so a re-run executes only what changed; a failed run leaves the artifacts and
pushed models of earlier runs untouched, and the next run resumes from what is cached.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator, Sequence

from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from components.sources import DataLocation
from pipelines.factory import PipelinePlacement, create_pipeline
from pipelines.progress import component_progress
from pipelines.run_layout import RunLayout, layout_for
from pipelines.spec import PipelineSpec

logger = logging.getLogger(__name__)


def run_local(
    spec: PipelineSpec,
    output_dir: str | None = None,
    data: DataLocation | None = None,
    beam_args: Sequence[str] = (),
    enable_cache: bool = True,
) -> RunLayout:
    """Runs `spec` with `LocalDagRunner`; raises if any component fails. Without `enable_cache`
    every component executes (code or data changed in a way no cache key covers)."""
    layout = layout_for(spec, output_dir)
    os.makedirs(layout.output_dir, exist_ok=True)
    placement = PipelinePlacement(
        pipeline_root=layout.pipeline_root,
        serving_dir=layout.serving_dir,
        data=data,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            layout.metadata_path
        ),
        beam_pipeline_args=[*spec.beam.args, *beam_args],
        custom_resolvers=True,
        enable_cache=enable_cache,
    )
    logger.info("Running %s locally; output in %s", spec.id, layout.output_dir)
    pipeline = create_pipeline(spec, placement)
    with component_progress(len(pipeline.components)), _command_line_hidden():
        LocalDagRunner().run(pipeline)
    return layout


@contextlib.contextmanager
def _command_line_hidden() -> Iterator[None]:
    """TFX's Beam executors parse `sys.argv` as absl flags: `coursepipe -v run ID` would reach
    them as `--verbosity=run` and fail StatisticsGen. They see the program name only."""
    saved = sys.argv[:]
    sys.argv[1:] = []
    try:
        yield
    finally:
        sys.argv[:] = saved
