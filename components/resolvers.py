"""Resolver strategies: how a run picks the artifacts of earlier runs it compares against.

Both are TFX `ResolverStrategy` extensions used by local runs; Kubeflow's compiler accepts only
TFX's stock strategies, so compiled pipelines resolve with those instead (see docs/design.md,
"Caching and baselines").

- `LatestBlessedOtherModelStrategy`, the Evaluator's baseline: the latest blessed model that is not
  the candidate itself. TFX's stock `LatestBlessedModelStrategy` hands a re-run whose Trainer came
  from cache the very model it is evaluating; the Evaluator's inputs then differ from the first
  run's, so it runs again and the Pusher pushes a second copy of the same model. Excluding the
  candidate keeps the inputs identical, so an unchanged re-run is fully cached.
- `PreviousSpanStatisticsStrategy`, the drift check's reference: of every ExampleStatistics
  artifact of the pipeline, only the newest-span one older than the current span (produced last
  among equals), or nothing on a first span. The result depends only on what is recorded, so an
  unchanged re-run resolves the same artifact and the validator stays cached. A compiled pipeline
  resolves the latest statistics instead and the validator makes the same choice among what it
  gets (`components.validation.component.previous_span_statistics`).
"""
from __future__ import annotations

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.types import standard_artifacts

from components.validation.component import STATISTICS_KEY, previous_span_statistics

CANDIDATE_KEY = "candidate"
MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"
CURRENT_KEY = "current"


class LatestBlessedOtherModelStrategy(LatestBlessedModelStrategy):
    """Latest blessed model, ignoring the model in the `candidate` channel."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        candidate_ids = {artifact.id for artifact in input_dict.get(CANDIDATE_KEY, [])}
        models = [
            model
            for model in input_dict.get(MODEL_KEY, [])
            if isinstance(model, standard_artifacts.Model) and model.id not in candidate_ids
        ]
        blessings = input_dict.get(BLESSING_KEY, [])
        result: dict[str, list[types.Artifact]] = {MODEL_KEY: [], BLESSING_KEY: []}
        if models and blessings:
            result = self._resolve(
                {MODEL_KEY: models, BLESSING_KEY: blessings}, MODEL_KEY, BLESSING_KEY
            )
        result[CANDIDATE_KEY] = []
        return result


class PreviousSpanStatisticsStrategy(resolver.ResolverStrategy):
    """The statistics of the newest span before the one in the `current` channel."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        current = input_dict.get(CURRENT_KEY, [])
        previous = previous_span_statistics(input_dict.get(STATISTICS_KEY, []), current[0]) if current else None
        return {STATISTICS_KEY: [previous] if previous is not None else [], CURRENT_KEY: []}
