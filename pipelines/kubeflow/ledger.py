"""The artifacts a locally run compiled pipeline produced: the stand-in for the cluster's ML Metadata.

Resolver tasks of a compiled pipeline are queries on ML Metadata (`schema_title="tfx.ModelBlessing"
AND metadata.blessed.number_value=1`, ...). `coursepipe run-compiled` has no metadata service, so
each finished step records its output artifacts in a JSON file under the pipeline root, and the
resolvers' filters are answered from it: a second run finds the first run's blessed model.
"""
from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Callable, Mapping

from pipelines.kubeflow.compiled import CompiledPipelineError

LEDGER_FILE = "local_metadata.json"


class ArtifactLedger:
    """The artifacts finished steps produced, in a JSON file under the pipeline root.

    Resolver filters are answered from it: `schema_title="…"`, `state=LIVE`, `name="…"` and
    `metadata.<key>.number_value=<n>`, the clauses TFX's compiler writes. A failed step records
    nothing, as a failed execution publishes nothing.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                self.records = json.load(handle)

    def add(self, artifact: Mapping[str, Any], schema_title: str, task: str, run_id: str) -> dict[str, Any]:
        """Records a published artifact (written through at once) and returns its record."""
        record = {**artifact, "schemaTitle": schema_title, "task": task, "run": run_id,
                  "created": time.time(), "sequence": len(self.records)}
        self.records.append(record)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(self.records, handle, indent=1)
        return record

    def latest(self, task: str, filter_expression: str) -> dict[str, Any] | None:
        """The newest artifact matching every clause of `filter_expression` (None when none does)."""
        clauses = [_clause(task, text.strip()) for text in filter_expression.split(" AND ")]
        matches = [record for record in self.records if all(clause(record) for clause in clauses)]
        return max(matches, key=lambda record: record["sequence"]) if matches else None


def _clause(task: str, text: str) -> Callable[[Mapping[str, Any]], bool]:
    """One `A AND B` clause of a compiled resolver filter, as a test on a ledger record."""
    if text == "state=LIVE":
        return lambda record: True
    if match := re.fullmatch(r'schema_title="([^"]*)"', text):
        return lambda record: record["schemaTitle"] == match.group(1)
    if match := re.fullmatch(r'name="([^"]*)"', text):
        return lambda record: record.get("name") == match.group(1)
    if match := re.fullmatch(r"metadata\.([\w-]+)\.number_value=([-0-9.eE]+)", text):
        return lambda record: record.get("metadata", {}).get(match.group(1)) == float(match.group(2))
    raise CompiledPipelineError(f"resolver {task}: filter clause {text!r} is not one this runner understands")
