"""A step's KFP output artifacts, handled as the backend's launcher handles them, for `run-compiled`.

The launcher (`backend/src/v2/component/launcher_v2.go`) gives each declared output artifact a
URI under KFP's pipeline root (`<root>/<pipeline>/<run id>/<task>/<output>`), maps it to a local
path in the pod (`LocalPathForURI`: `minio://B/K` is `/minio/B/K`, `s3://` `/s3/`, `gs://`
`/gcs/`), fills the placeholders (`{{$.outputs.artifacts['view'].path}}`, `….uri`, and `{{$}}`,
the whole executor input with the executor-output file's path), runs the container, then
uploads each local file to its URI and records the artifact in ML Metadata with the metadata the
container wrote into the executor-output file (`mergeRuntimeArtifacts`). A missing file is only a
warning. Here a folder stands for the pod's filesystem and one for the object store, and
`kfp-artifacts.json` in the run's log folder for KFP's own records of the artifacts.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

logger = logging.getLogger(__name__)

# The root KFP's launcher is configured with in a default installation (kfp-launcher ConfigMap).
DEFAULT_KFP_ROOT = "minio://mlpipeline/v2/artifacts"
EXECUTOR_OUTPUT_FILE = "/tmp/kfp_outputs/output_metadata.json"
RECORDS_FILE = "kfp-artifacts.json"
_LOCAL_PREFIXES = {"gs://": "/gcs/", "minio://": "/minio/", "s3://": "/s3/"}


def local_path_for_uri(uri: str) -> str:
    """Where the launcher puts an artifact's file in the pod (`LocalPathForURI`)."""
    for scheme, prefix in _LOCAL_PREFIXES.items():
        if uri.startswith(scheme):
            return prefix + uri.removeprefix(scheme)
    raise ValueError(f"failed to generate local path for URI {uri}: unsupported storage scheme")


@dataclass
class KfpArtifact:
    """One output artifact as KFP recorded it: its task, output name, type, URI, metadata, and the
    file the object store holds for it (None when the step wrote none)."""

    task: str
    name: str
    schema_title: str
    uri: str
    metadata: dict[str, Any] = field(default_factory=dict)
    stored_file: str | None = None


@dataclass(frozen=True)
class TaskOutputs:
    """The declared output artifacts of one task in one run, and where its pod's files live here."""

    task: str
    types: Mapping[str, str]  # output name -> schemaTitle (system.Metrics, system.HTML, ...)
    uri_prefix: str  # <root>/<pipeline>/<run id>/<task>
    pod_root: str  # this folder stands for the pod's "/"

    def uri(self, name: str) -> str:
        return f"{self.uri_prefix}/{name}"

    def _in_pod(self, path: str) -> str:
        return os.path.join(self.pod_root, path.lstrip("/"))

    def placeholders(self, parameter_values: Mapping[str, Any]) -> dict[str, str]:
        """The output placeholders' values as the launcher fills them in this task's arguments."""
        values = {}
        for name in self.types:
            values[f"{{{{$.outputs.artifacts['{name}'].uri}}}}"] = self.uri(name)
            values[f"{{{{$.outputs.artifacts['{name}'].path}}}}"] = self._in_pod(local_path_for_uri(self.uri(name)))
        values["{{$}}"] = json.dumps(self.executor_input(parameter_values), separators=(",", ":"))
        return values

    def executor_input(self, parameter_values: Mapping[str, Any]) -> dict[str, Any]:
        """The `{{$}}` placeholder's value: the task's inputs and its outputs with their URIs."""
        artifacts = {name: {"artifacts": [{"name": name, "type": {"schemaTitle": title}, "uri": self.uri(name),
                                           "metadata": {}}]} for name, title in self.types.items()}
        return {"inputs": {"parameterValues": dict(parameter_values)},
                "outputs": {"artifacts": artifacts, "outputFile": self._in_pod(EXECUTOR_OUTPUT_FILE)}}

    def prepare(self) -> None:
        """The folders of the outputs' local paths, as the launcher makes them before the container runs."""
        for name in self.types:
            os.makedirs(os.path.dirname(self._in_pod(local_path_for_uri(self.uri(name)))), exist_ok=True)

    def upload(self, object_store: str) -> list[KfpArtifact]:
        """After the container succeeded: each local file stored under its URI in `object_store`,
        each artifact with the metadata from the executor-output file."""
        written: dict[str, Any] = {}
        output_file = self._in_pod(EXECUTOR_OUTPUT_FILE)
        if os.path.exists(output_file):
            with open(output_file, encoding="utf-8") as handle:
                written = json.load(handle).get("artifacts", {})
        records = []
        for name, title in self.types.items():
            uri = self.uri(name)
            listed = written.get(name, {}).get("artifacts", [])
            record = KfpArtifact(self.task, name, title, uri, dict(listed[0].get("metadata", {})) if listed else {})
            local = self._in_pod(local_path_for_uri(uri))
            if os.path.isfile(local):
                stored = os.path.join(object_store, uri.split("://", 1)[1])
                os.makedirs(os.path.dirname(stored), exist_ok=True)
                shutil.copyfile(local, stored)
                record.stored_file = stored
            else:
                logger.warning("%s: local filepath %s does not exist (output %s not uploaded)", self.task, local, name)
            records.append(record)
        return records


def output_types(component: Mapping[str, Any]) -> dict[str, str]:
    """A component's declared output artifacts: name -> schemaTitle."""
    artifacts = component.get("outputDefinitions", {}).get("artifacts", {})
    return {name: spec["artifactType"]["schemaTitle"] for name, spec in artifacts.items()}


def write_records(log_dir: str, artifacts: list[KfpArtifact]) -> str:
    path = os.path.join(log_dir, RECORDS_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([asdict(artifact) for artifact in artifacts], handle, indent=1)
    return path


def read_records(log_dir: str) -> list[KfpArtifact]:
    """The artifacts a run recorded (what the KFP UI lists for its steps)."""
    with open(os.path.join(log_dir, RECORDS_FILE), encoding="utf-8") as handle:
        return [KfpArtifact(**record) for record in json.load(handle)]
