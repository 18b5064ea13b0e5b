"""Resolving the Evaluator's baseline: the latest blessed model that is not the candidate itself.

TFX's stock `LatestBlessedModelStrategy` hands a re-run whose Trainer came from cache the very
model it is evaluating as its baseline. The Evaluator's inputs then differ from the first run's,
so it runs again and the Pusher pushes a second copy of the same model (measured in design.md).
Excluding the candidate keeps the inputs identical, so an unchanged re-run is fully cached.

Kubeflow's compiler only accepts the stock strategy, so `create_pipeline` uses this one for
local runs only.
"""
from __future__ import annotations

from typing import Optional

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.types import standard_artifacts

CANDIDATE_KEY = "candidate"
MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"


class LatestBlessedOtherModelStrategy(LatestBlessedModelStrategy):
    """Latest blessed model, ignoring the model in the `candidate` channel."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> Optional[dict[str, list[types.Artifact]]]:
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
