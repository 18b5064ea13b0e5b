"""`coursepipe report ID`: one self-contained HTML page about one run.

The page holds the pipeline graph (each step executed, cached or failed), the training data's
statistics and anomalies (the same statistics and anomaly rows TFDV computed in the run), the
evaluation metrics against the spec's thresholds (TFMA's results), the course-style curves (the
Trainer's PNG, embedded), and the pushed model's serving signature. Nothing is loaded from the
network: a page that opens offline, in a browser or as a CI artifact.
"""
from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from typing import Sequence

from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.dsl.components.common.resolver import Resolver

from components.sources import DataLocation
from components.validation.html_view import html_table
from components.validation.schemas import feature_name
from modules.curves import CURVES_FILE
from modules.sample_grids import FINAL_GRID, SAMPLES_DIR
from pipelines.factory import PipelinePlacement, create_pipeline
from pipelines.names import EVAL_METRICS
from pipelines.spec.pipeline_spec import PipelineSpec
from pipelines.runs.summary import RunSummary

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #bbb; padding: 3px 8px; text-align: left; }
.executed { fill: #d4f4d4; } .resolver { fill: #fff; } .cached { fill: #dde8ff; }
.failed { fill: #ffd0d0; } .skipped { fill: #eee; }
.failure td { white-space: pre-wrap; font-family: monospace; }
.yes { color: #0a0; font-weight: bold; } .no { color: #c00; font-weight: bold; }
"""
NODE_WIDTH, NODE_HEIGHT, COLUMN, ROW = 215, 34, 240, 48


@dataclass(frozen=True)
class GraphNode:
    name: str
    upstream: tuple[str, ...]
    state: str  # executed, cached, failed, skipped (not run: after a failure), resolver


def pipeline_graph(spec: PipelineSpec, summary: RunSummary) -> list[GraphNode]:
    """The spec's pipeline as nodes with their upstream nodes and this run's state of each."""
    placement = PipelinePlacement(pipeline_root="report", serving_dir="report/serving",
                                  data=DataLocation("report", "data"), custom_resolvers=True)
    pipeline = create_pipeline(spec, placement)
    states = {**{n.id: "resolver" for n in pipeline.components if isinstance(n, Resolver)},
              **{n: "executed" for n in summary.executed}, **{n: "cached" for n in summary.cached},
              **{n: "failed" for n in summary.failed}}
    return [GraphNode(node.id, tuple(sorted(up.id for up in node.upstream_nodes)), states.get(node.id, "skipped"))
            for node in pipeline.components]


def graph_svg(nodes: Sequence[GraphNode]) -> str:
    """Nodes in rows by depth (longest path from a source), top to bottom; edges as lines."""
    depth: dict[str, int] = {}
    for node in nodes:  # components come in topological order
        depth[node.name] = 1 + max((depth[up] for up in node.upstream), default=-1)
    per_row: dict[int, int] = {}
    where = {}
    for node in nodes:
        row = depth[node.name]
        where[node.name] = (20 + per_row.get(row, 0) * COLUMN, 20 + row * ROW)
        per_row[row] = per_row.get(row, 0) + 1
    width = 40 + max(per_row.values()) * COLUMN
    height = 40 + (max(depth.values()) + 1) * ROW
    parts = [f"<svg width='{width}' height='{height}' font-size='12'>"]
    for node in nodes:
        x, y = where[node.name]
        for up in node.upstream:
            ux, uy = where[up]
            parts.append(f"<line x1='{ux + NODE_WIDTH / 2}' y1='{uy + NODE_HEIGHT}' x2='{x + NODE_WIDTH / 2}' y2='{y}' "
                         "stroke='#888'/>")
    for node in nodes:
        x, y = where[node.name]
        parts.append(f"<rect class='{node.state}' x='{x}' y='{y}' width='{NODE_WIDTH}' height='{NODE_HEIGHT}' "
                     "rx='5' stroke='#555'/>")
        parts.append(f"<text x='{x + 8}' y='{y + 14}'>{html.escape(node.name)}</text>")
        parts.append(f"<text x='{x + 8}' y='{y + 28}' fill='#555'>{node.state}</text>")
    parts.append("</svg>")
    return "".join(parts)


def statistics_table(statistics: statistics_pb2.DatasetFeatureStatisticsList) -> str:
    """Per feature: type, count, missing, and numeric summary or string summary (TFDV's numbers)."""
    dataset = statistics.datasets[0]
    rows = []
    for feature in dataset.features:
        name = feature_name(feature)
        kind = statistics_pb2.FeatureNameStatistics.Type.Name(feature.type)
        if feature.HasField("num_stats"):
            numbers = feature.num_stats
            common = numbers.common_stats
            rows.append((name, kind, common.num_non_missing, common.num_missing, f"{numbers.mean:.4g}",
                         f"{numbers.std_dev:.4g}", f"{numbers.min:.4g}", f"{numbers.max:.4g}", ""))
        else:
            strings = feature.string_stats
            common = strings.common_stats
            top = ", ".join(f"{v.value[:20]!r}" for v in strings.top_values[:3])
            rows.append((name, kind, common.num_non_missing, common.num_missing, "", "", "", "",
                         f"{strings.unique} unique; top {top}"))
    return (f"<p>{dataset.num_examples} examples</p>"
            + html_table(("feature", "type", "present", "missing", "mean", "std", "min", "max", "values"), rows))


def metrics_table(summary: RunSummary, metric: str, lower: float | None, upper: float | None) -> str:
    """The candidate's metrics, the gated `metric`'s bounds, and each change against the baseline."""
    bounds = {metric: (lower, upper)}
    rows = []
    for name, value in sorted(summary.metrics.items()):
        lower, upper = bounds.get(name, (None, None))
        change = summary.metric_changes.get(name)
        rows.append((name, f"{value:.4f}", "" if lower is None else lower, "" if upper is None else upper,
                     "" if change is None else f"{change:+.4f}"))
    return html_table(("metric", "value", "lower bound", "upper bound", "change vs baseline"), rows)


def slices_table(summary: RunSummary, metric: str) -> str:
    """Every slice's metrics (evaluation.slices), the worst on the gated `metric` first."""
    worst_first = summary.slices_worst_first(metric, EVAL_METRICS[metric].higher_is_better)
    if not worst_first:
        return ""
    names = sorted({name for metrics in summary.slice_metrics.values() for name in metrics} - {metric})
    rows = [(slice_name, f"{value:.4f}", *(_rounded(summary.slice_metrics[slice_name].get(name)) for name in names))
            for slice_name, value in worst_first]
    return "<h3>Slices, worst first</h3>" + html_table(("slice", metric, *names), rows)


def _rounded(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def tuning_table(spec: PipelineSpec, summary: RunSummary) -> str:
    """The Tuner's trials, best first, and the hyperparameters the Trainer trained with."""
    if summary.tuned_hyperparameters is None:
        return ""
    names = sorted({key for trial in summary.tuning_trials for key in trial} - {"trial_id", "score"})
    objective = spec.tuning.objective if spec.tuning is not None else "score"
    rows = [(trial["trial_id"], f"{trial['score']:.4f}", *(trial.get(name, "") for name in names))
            for trial in summary.tuning_trials]
    winner = ", ".join(f"{name}={value}" for name, value in sorted(summary.tuned_hyperparameters.items()))
    return (f"<h2>Tuning</h2><p>Trained with {html.escape(winner)}</p>"
            + html_table(("trial", objective, *names), rows))


def signature_table(pushed: str) -> str:
    """The pushed model's serving_default inputs and outputs (names, dtypes, shapes)."""
    import tensorflow as tf  # heavy; only for a run that pushed

    signature = tf.saved_model.load(pushed).signatures["serving_default"]
    rows = [("input", name, spec.dtype.name, spec.shape) for name, spec in signature.structured_input_signature[1].items()]
    rows += [("output", name, spec.dtype.name, spec.shape) for name, spec in signature.structured_outputs.items()]
    return html_table(("", "name", "dtype", "shape"), rows)


def _embedded_png(path: str, alt: str) -> str:
    with open(path, "rb") as handle:
        data = base64.b64encode(handle.read()).decode()
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/>"


def curves_html(summary: RunSummary) -> str:
    """The Trainer's loss and metric curves as an embedded picture."""
    path = os.path.join(summary.model_run_dir or "", CURVES_FILE)
    if not summary.model_run_dir or not os.path.exists(path):
        return "<p>No curves: the Trainer did not run in this run's lineage.</p>"
    return _embedded_png(path, "training curves")


def _samples(summary: RunSummary) -> list[str]:
    """A generator's last grid of samples (fixed latents), and how many grids training wrote."""
    path = os.path.join(summary.model_run_dir or "", FINAL_GRID)
    if not summary.model_run_dir or not os.path.exists(path):
        return []
    grids = os.path.join(summary.model_run_dir, SAMPLES_DIR)
    count = len(os.listdir(grids)) if os.path.isdir(grids) else 0
    return ["<h2>Generated samples</h2>",
            f"<p>The generator's pictures for 64 fixed latent vectors after training; {count} earlier grids "
            f"in {html.escape(grids)}.</p>", _embedded_png(path, "generated samples")]


def _failure_section(summary: RunSummary) -> list[str]:
    """Why the run stopped: each failed step with its error, or the steps a killed run left unfinished."""
    if summary.failed:
        rows = [(name, summary.errors.get(name, "no error message was recorded (see the run's log)"))
                for name in summary.failed]
        return ["<h2>The run failed</h2>",
                f"<div class='failure'>{html_table(('step', 'error'), rows)}</div>"]
    if summary.interrupted:
        return ["<h2>The run was interrupted</h2>",
                f"<p>The process ended while {html.escape(', '.join(summary.interrupted))} ran (killed, or the "
                "machine stopped); nothing of those steps was published. Run the pipeline again: it resumes from "
                "what is cached.</p>"]
    return []


def run_report_html(spec: PipelineSpec, summary: RunSummary,
                statistics: statistics_pb2.DatasetFeatureStatisticsList | None) -> str:
    blessed = {True: "<span class='yes'>yes</span>", False: "<span class='no'>no</span>", None: "not evaluated"}
    failures = "; ".join(summary.validation_failures)
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(spec.id)} run report</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(spec.id)}</h1><p>{html.escape(spec.description)}</p>",
        f"<p>run {html.escape(summary.run_id)}; span {summary.span if summary.span is not None else '-'}; "
        f"{len(summary.executed)} executed, {len(summary.cached)} from cache"
        + (f", failed: {html.escape(', '.join(summary.failed))}" if summary.failed else "") + "</p>",
        *_failure_section(summary),
        "<h2>Pipeline</h2>", graph_svg(pipeline_graph(spec, summary)),
        "<h2>Data</h2>",
        statistics_table(statistics) if statistics is not None else "<p>No statistics recorded.</p>",
        "<h3>Anomalies</h3>",
        html_table(("anomaly",), [(w,) for w in summary.data_warnings]) if summary.data_warnings
        else "<p>No anomalies.</p>",
        "<h2>Evaluation</h2>",
        metrics_table(summary, spec.evaluation.metric, spec.evaluation.lower_bound, spec.evaluation.upper_bound),
        slices_table(summary, spec.evaluation.metric),
        f"<p>Blessed: {blessed[summary.blessed]}{' (' + html.escape(failures) + ')' if failures else ''}</p>",
        tuning_table(spec, summary),
        "<h2>Training curves</h2>", curves_html(summary),
        *_samples(summary),
        "<h2>Pushed model</h2>",
    ]
    if summary.pushed_destination:
        parts += [f"<p>{html.escape(summary.pushed_destination)}</p>", signature_table(summary.pushed_destination)]
    else:
        parts.append("<p>Nothing pushed.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
