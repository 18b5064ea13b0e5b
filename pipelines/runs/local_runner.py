"""Run a pipeline on this machine: `LocalDagRunner`, SQLite ML Metadata, Beam's DirectRunner.

Everything of one pipeline lives under one output directory (`pipelines.runs.layout`).
Caching is on, so a re-run executes only what changed; a failed run leaves the artifacts and
pushed models of earlier runs untouched, and the next run resumes from what is cached.
"""
from __future__ import annotations

import logging
import os
from typing import Sequence

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.portable.mlmd import execution_lib
from tfx.proto.orchestration import execution_result_pb2

from components.sources import DataLocation
from pipelines.command_line import command_line_hidden
from pipelines.factory import PipelinePlacement, create_pipeline
from pipelines.runs.metadata_store import set_aside
from pipelines.runs.progress import component_progress
from pipelines.runs.layout import RunLayout, layout_for
from pipelines.runs.lock import exclusive_run
from pipelines.spec.pipeline_spec import PipelineSpec
from pipelines.runs.summary import runs_oldest_first

logger = logging.getLogger(__name__)

Execution = metadata_store_pb2.Execution
MAX_ERROR_CHARS = 4000


def run_local(
    spec: PipelineSpec,
    output_dir: str | None = None,
    data: DataLocation | None = None,
    beam_args: Sequence[str] = (),
    enable_cache: bool = True,
    fresh: bool = False,
) -> RunLayout:
    """Runs `spec` with `LocalDagRunner`; raises if any component fails. Without `enable_cache`
    every component executes (code or data changed in a way no cache key covers); `fresh` first
    moves the store and the pipeline root aside (`pipelines.runs.metadata_store.set_aside`)."""
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
    with exclusive_run(layout.output_dir), component_progress(len(pipeline.components)), command_line_hidden():
        if fresh:
            set_aside(layout)
        try:
            LocalDagRunner().run(pipeline)
        except Exception as error:
            record_failure(layout.metadata_path, error)
            raise
    return layout


def record_failure(metadata_path: str, error: BaseException) -> None:
    """Writes why a component failed onto its FAILED execution, in TFX's own `ExecutionResult`.

    TFX's launcher marks the execution FAILED but keeps the executor's exception only in the log;
    `coursepipe runs` and `report` read the message back from here (`pipelines.runs.summary`).
    """
    store = mlmd.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))
    runs = runs_oldest_first(store)
    if not runs:
        return
    latest = runs[-1]
    message = f"{type(error).__name__}: {error}"[-MAX_ERROR_CHARS:]
    for execution in store.get_executions_by_context(latest.id):
        if execution.last_known_state == Execution.FAILED and execution_lib.get_execution_result(
            execution, ignore_parse_errors=True
        ) is None:
            execution_lib.set_execution_result(execution_result_pb2.ExecutionResult(result_message=message), execution)
            store.put_execution(execution, [], [])

