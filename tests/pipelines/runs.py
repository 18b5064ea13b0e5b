"""Shared by the end-to-end tests: run a spec locally and serve the pushed model."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from components.example_gen import to_example
from components.sources import DataLocation
from modules.export import OUTPUT_KEY, SERVING_SIGNATURE
from modules.features import FeatureSet
from pipelines.runs.local_runner import run_local
from pipelines.runs.summary import RunSummary, latest_run_summary
from pipelines.spec.pipeline_spec import PipelineSpec


def run_and_load_served(spec: PipelineSpec, tmp_path, data: DataLocation | None = None) -> tuple[RunSummary, Any]:
    """Runs `spec` under `tmp_path`; asserts it blessed and pushed; returns the summary and the
    pushed model's serving signature."""
    layout = run_local(spec, str(tmp_path / "run"), data=data)
    summary = latest_run_summary(layout.metadata_path)
    assert summary.failed == [] and summary.blessed is True, summary
    return summary, tf.saved_model.load(summary.pushed_destination).signatures[SERVING_SIGNATURE]


def serve(serving: Any, records: Sequence[Mapping[str, Any]], features: FeatureSet) -> np.ndarray:
    """The serving signature's output for raw records, sent as serialized tf.Examples."""
    examples = tf.constant([to_example(r, features).SerializeToString() for r in records])
    return serving(examples=examples)[OUTPUT_KEY].numpy()
