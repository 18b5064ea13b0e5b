"""Where a local run keeps its files: one output directory per pipeline (default `runs/<id>/`).

    metadata.sqlite   ML Metadata: executions, artifacts, what is cached
    pipeline/         the pipeline root: every component's output artifacts
    serving/          models the Pusher pushed (one versioned directory each)

Kept apart from the runner, which imports TFX, so that the CLI can name these paths (and check
them) before it imports anything heavy.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.spec.pipeline_spec import PipelineSpec

METADATA_FILE = "metadata.sqlite"
PIPELINE_ROOT_DIR = "pipeline"


@dataclass(frozen=True)
class RunLayout:
    """The paths of one pipeline's local output directory."""

    output_dir: str
    serving_destination: str = "serving"

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.output_dir, METADATA_FILE)

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, PIPELINE_ROOT_DIR)

    @property
    def serving_dir(self) -> str:
        return os.path.join(self.output_dir, self.serving_destination)


def default_output_dir(spec_id: str) -> str:
    return os.path.join("runs", spec_id)


def layout_for(spec: PipelineSpec, output_dir: str | None) -> RunLayout:
    output = os.path.abspath(output_dir or default_output_dir(spec.id))
    return RunLayout(output, spec.push.destination)
