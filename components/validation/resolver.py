"""Resolving the statistics a drift check compares against: the previous span's.

The resolver gets every ExampleStatistics artifact of the pipeline and the current run's, and
hands over only the newest-span one older than the current span (produced last among equals), or
nothing on a first span. The result depends only on what is recorded, so an unchanged re-run
resolves the same artifact and the validator stays cached. Kubeflow's compiler accepts only the
stock strategies, so a compiled pipeline resolves the latest statistics instead and the
validator makes the same choice among what it gets (`component.previous_span_statistics`).
"""
from __future__ import annotations

from typing import Optional

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.components.common import resolver

from components.validation.component import previous_span_statistics

STATISTICS_KEY = "statistics"
CURRENT_KEY = "current"


class PreviousSpanStatisticsStrategy(resolver.ResolverStrategy):
    """The statistics of the newest span before the one in the `current` channel."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> Optional[dict[str, list[types.Artifact]]]:
        current = input_dict.get(CURRENT_KEY, [])
        previous = previous_span_statistics(input_dict.get(STATISTICS_KEY, []), current[0]) if current else None
        return {STATISTICS_KEY: [previous] if previous is not None else [], CURRENT_KEY: []}
