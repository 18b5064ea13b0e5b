"""TFDV's own HTML views of statistics and anomalies, written to one file a browser opens.

The statistics view is TFDV's Facets Overview (`get_statistics_html`, the view
`tfdv.visualize_statistics` shows in a notebook; it loads the Facets web component from its CDN);
anomalies and drift/skew distances are TFDV's own tables (`get_anomalies_dataframe`,
`get_drift_skew_dataframe`) as HTML.
"""
from __future__ import annotations

import html
import os
from typing import Sequence

from tensorflow_data_validation.utils import display_util
from tfx.dsl.io import fileio

from components.validation.anomalies import AnomalyRow
from components.validation.checks import Statistics, ValidationOutcome

REPORT_FILE = "validation.html"


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table of `rows` under `header`, every cell escaped."""
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table border='1'><tr>{head}</tr>{body}</table>"


def _rows_table(rows: Sequence[AnomalyRow]) -> str:
    if not rows:
        return "<p>No anomalies.</p>"
    return html_table(("data", "feature", "kind", "description"),
                      [(r.where, r.feature, r.kind, r.description) for r in rows])


def validation_html(
    title: str,
    outcome: ValidationOutcome,
    statistics: Statistics,
    statistics_name: str,
    control: Statistics | None = None,
    control_name: str = "",
) -> str:
    """One page: the anomaly rows, TFDV's anomaly and distance tables per data set, and the
    statistics (side by side with `control`, the baseline or serving data, when given)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>",
             f"<h1>{html.escape(title)}</h1>", "<h2>Anomalies</h2>", _rows_table(outcome.rows)]
    for where, anomalies in outcome.anomalies.items():
        parts.append(f"<h3>TFDV anomalies: {html.escape(where)}</h3>")
        parts.append(display_util.get_anomalies_dataframe(anomalies).to_html())
        if anomalies.drift_skew_info:
            parts.append(f"<h3>Drift and skew distances: {html.escape(where)}</h3>")
            parts.append(display_util.get_drift_skew_dataframe(anomalies).to_html())
    parts.append("<h2>Statistics</h2>")
    parts.append(display_util.get_statistics_html(
        statistics, control, lhs_name=statistics_name, rhs_name=control_name or "control"
    ))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str, page: str) -> str:
    """Writes an HTML page to `path`, local or remote (`gs://…` through TFX's filesystem, where a
    Kubeflow step writes); returns the path."""
    directory = os.path.dirname(path)
    if directory:
        fileio.makedirs(directory)
    with fileio.open(path, "w") as handle:
        handle.write(page)
    return path
