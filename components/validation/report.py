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

from components.validation.anomalies import AnomalyRow
from components.validation.checks import Statistics, ValidationOutcome

REPORT_FILE = "validation.html"


def _rows_table(rows: Sequence[AnomalyRow]) -> str:
    if not rows:
        return "<p>No anomalies.</p>"
    cells = "".join(
        f"<tr><td>{html.escape(r.where)}</td><td>{html.escape(r.feature)}</td>"
        f"<td>{html.escape(r.kind)}</td><td>{html.escape(r.description)}</td></tr>"
        for r in rows
    )
    return ("<table border='1'><tr><th>data</th><th>feature</th><th>kind</th><th>description</th></tr>"
            f"{cells}</table>")


def report_html(
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
    """Writes one `report_html` page to `path`; returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return path
