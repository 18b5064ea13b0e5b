"""What each step of a compiled pipeline shows in the KFP UI (its Visualizations tab).

TFX on Kubeflow v1 wrote `mlpipeline-ui-metadata` for its components; KFP v2 shows typed output
artifacts instead: `system.Metrics` (the scalar metrics in the artifact's metadata, which the
step returns through the launcher's executor-output file) and `system.HTML` / `system.Markdown`
(a file the UI renders). The compiler declares them on the steps (`STEP_OUTPUTS`); the node
runner writes them after TFX's launcher ran the node, read back from ML Metadata with the same
code as `coursepipe runs` and `report` (`summary_of_run`, `pipelines.runs.report`), so a step taken from
TFX's cache shows what the cached execution produced.

| step | metrics | view |
| --- | --- | --- |
| StatisticsGen | examples per split | HTML: each split's statistics table |
| ExampleValidator | anomalies found | HTML: the validator's own report (anomalies, drift) |
| Trainer | - | HTML: the loss and metric curves |
| Evaluator | every metric, the gate's bounds, blessed (1/0) | HTML: metrics, changes, slices |
| Pusher | pushed (1/0) | Markdown: where the model went |

Light at import: the heavy readers are imported where a step writes its views.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.names import EVALUATOR_ID, EXAMPLE_VALIDATOR_ID, PUSHER_ID, STATISTICS_GEN_ID, TRAINER_ID

if TYPE_CHECKING:
    from pipelines.runs.summary import RunSummary

METRICS, VIEW = "metrics", "view"
# The KFP v1 component types the SDK maps to system.Metrics, system.HTML, system.Markdown.
STEP_OUTPUTS: dict[str, dict[str, str]] = {
    STATISTICS_GEN_ID: {METRICS: "Metrics", VIEW: "HTML"},
    EXAMPLE_VALIDATOR_ID: {METRICS: "Metrics", VIEW: "HTML"},
    TRAINER_ID: {VIEW: "HTML"},
    EVALUATOR_ID: {METRICS: "Metrics", VIEW: "HTML"},
    PUSHER_ID: {METRICS: "Metrics", VIEW: "Markdown"},
}


@dataclass
class StepViews:
    """A step's scalar metrics and its rendered view."""

    metrics: dict[str, float] = field(default_factory=dict)
    view: str = ""


@dataclass(frozen=True)
class Gate:
    """What blesses a model: the gated metric and its bounds (the run's parameters)."""

    metric: str
    lower: float | None = None
    upper: float | None = None


def step_views(node_id: str, summary: RunSummary, gate: Gate | None) -> StepViews:
    """The views of `node_id` in the run `summary` describes."""
    if node_id == STATISTICS_GEN_ID:
        return _statistics(summary)
    if node_id == EXAMPLE_VALIDATOR_ID:
        return _validation(summary)
    if node_id == TRAINER_ID:
        from pipelines.runs.report import curves_html

        return StepViews(view=_page("Training curves", curves_html(summary)))
    if node_id == EVALUATOR_ID:
        return _evaluation(summary, gate)
    if node_id == PUSHER_ID:
        return _push(summary)
    return StepViews()


def _page(title: str, body: str) -> str:
    from pipelines.runs.report import STYLE

    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2>{body}</body></html>")


def _statistics(summary: RunSummary) -> StepViews:
    from pipelines.runs.report import statistics_table
    from pipelines.runs.summary import split_statistics

    views = StepViews()
    parts = []
    uri = summary.statistics_uri
    splits = sorted(name.removeprefix("Split-") for name in _listdir(uri) if name.startswith("Split-")) if uri else []
    for split in splits:
        statistics = split_statistics(uri, split)
        views.metrics[f"examples_{split}"] = float(statistics.datasets[0].num_examples)
        parts.append(f"<h3>{html.escape(split)}</h3>{statistics_table(statistics)}")
    views.view = _page("Statistics", "".join(parts) or "<p>No statistics recorded.</p>")
    return views


def _validation(summary: RunSummary) -> StepViews:
    from tfx.utils import io_utils

    report = summary.validation_report
    body = io_utils.read_string_file(report) if report and io_utils.fileio.exists(report) else ""
    return StepViews({"anomalies": float(len(summary.data_warnings))},
                     body or _page("Data validation", "<p>No validation report recorded.</p>"))


def _evaluation(summary: RunSummary, gate: Gate | None) -> StepViews:
    from components.validation.html_view import html_table
    from pipelines.runs.report import metrics_table, slices_table

    metrics = dict(summary.metrics)
    if summary.blessed is not None:
        metrics["blessed"] = 1.0 if summary.blessed else 0.0
    parts = []
    if gate is not None:
        for name, bound in (("lower_bound", gate.lower), ("upper_bound", gate.upper)):
            if bound is not None:
                metrics[f"{gate.metric}_{name}"] = float(bound)
        parts += [metrics_table(summary, gate.metric, gate.lower, gate.upper), slices_table(summary, gate.metric)]
    blessed = {True: "yes", False: "no", None: "not evaluated"}[summary.blessed]
    parts.append(f"<p>Blessed: {blessed}</p>")
    if summary.validation_failures:
        parts.append(html_table(("why not blessed",), [(failure,) for failure in summary.validation_failures]))
    return StepViews(metrics, _page("Evaluation", "".join(parts)))


def _push(summary: RunSummary) -> StepViews:
    if summary.pushed_destination:
        again = " (the same model was served there already; nothing was copied)" if summary.already_pushed else ""
        return StepViews({"pushed": 1.0}, f"## Pushed\n\nThe blessed model is served from `{summary.pushed_destination}`"
                                          f"{again}.\n")
    return StepViews({"pushed": 0.0}, "## Not pushed\n\nThe model was not blessed, so nothing was pushed.\n")


def _listdir(uri: str) -> list[str]:
    from tfx.utils import io_utils

    return [name.rstrip("/") for name in io_utils.fileio.listdir(uri)] if io_utils.fileio.isdir(uri) else []


def write_step_outputs(views: StepViews, paths: dict[str, str], executor_input: dict[str, Any] | None) -> None:
    """Writes each declared output's file at its local path (the launcher uploads it), and the
    metrics as the artifact's metadata into the launcher's executor-output file."""
    for name, path in paths.items():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(views.metrics, indent=1, sort_keys=True) if name == METRICS else views.view)
    output_file = (executor_input or {}).get("outputs", {}).get("outputFile")
    if output_file and METRICS in paths:
        os.makedirs(os.path.dirname(output_file) or ".", exist_ok=True)
        executor_output = {"artifacts": {METRICS: {"artifacts": [{"metadata": views.metrics}]}}}
        with open(output_file, "w", encoding="utf-8") as handle:
            json.dump(executor_output, handle)
