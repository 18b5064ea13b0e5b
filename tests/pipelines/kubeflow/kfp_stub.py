"""A stand-in Kubeflow Pipelines API server on 127.0.0.1: the v2beta1 endpoints `kfp.Client`
calls to upload a pipeline (or a version of it), find or create an experiment and start a run.
It records every request so tests check what the real client sent.

It refuses what the open-source backend refuses (read from its source, `backend/src/v2/compiler`):
an upload that is not a pipeline spec, and, when a run is created (the backend compiles the
pipeline to an Argo workflow then), any executor that is neither a container nor an importer
("non-container and non-importer executor not implemented") and a task depending on a task that
does not exist."""
from __future__ import annotations

import cgi
import io
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

API = "/apis/v2beta1"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None  # JSON body, or the uploaded file's text for uploads


@dataclass
class KfpState:
    requests: list[Request] = field(default_factory=list)
    pipelines: dict[str, dict] = field(default_factory=dict)  # id -> pipeline
    versions: dict[str, list[dict]] = field(default_factory=dict)  # pipeline id -> versions
    experiments: dict[str, dict] = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)
    specs: dict[str, dict] = field(default_factory=dict)  # version id -> its pipeline spec


def pipeline_spec(text: str) -> dict | None:
    """The uploaded pipeline spec (KFP YAML, its first document, or JSON); None when it is none."""
    try:
        document = next(yaml.safe_load_all(text), None)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or not {"pipelineInfo", "root", "deploymentSpec"} <= set(document):
        return None
    return document


def argo_compile_problem(spec: dict | None) -> str | None:
    """What the backend's Argo compiler refuses in `spec` (None: it compiles)."""
    if spec is None:
        return "pipeline version not found"
    executors = spec["deploymentSpec"].get("executors", {})
    tasks = spec["root"].get("dag", {}).get("tasks", {})
    for name, task in tasks.items():
        component = spec.get("components", {}).get(task["componentRef"]["name"], {})
        executor = executors.get(component.get("executorLabel", ""), {})
        if "dag" not in component and not {"container", "importer"} & set(executor):
            return f"task {name}: non-container and non-importer executor not implemented"
        missing = [upstream for upstream in task.get("dependentTasks", []) if upstream not in tasks]
        if missing:
            return f"task {name}: dependent task {missing[0]} not found"
    return None


def _name_filter(query: dict[str, list[str]]) -> str | None:
    if "filter" not in query:
        return None
    predicates = json.loads(query["filter"][0]).get("predicates", [])
    return next((p.get("stringValue", p.get("string_value")) for p in predicates), None)


class _Handler(BaseHTTPRequestHandler):
    state: KfpState

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _reply(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, message: str) -> None:
        data = json.dumps({"error_message": message, "code": 3}).encode()  # gRPC INVALID_ARGUMENT
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _upload(self) -> str:
        form = cgi.FieldStorage(fp=io.BytesIO(self.rfile.read(int(self.headers["Content-Length"]))),
                                headers=self.headers, environ={"REQUEST_METHOD": "POST"})
        return form["uploadfile"].file.read().decode()

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.state.requests.append(Request("GET", url.path, query))
        if url.path == f"{API}/healthz":
            return self._reply({"multi_user": False})
        if url.path == f"{API}/pipelines":
            name = _name_filter(query)
            found = [p for p in self.state.pipelines.values() if p["display_name"] == name]
            return self._reply({"pipelines": found, "total_size": len(found)} if found else {})
        if url.path.startswith(f"{API}/pipelines/") and url.path.endswith("/versions"):
            versions = self.state.versions[url.path.split("/")[4]]
            return self._reply({"pipeline_versions": versions[::-1], "total_size": len(versions)})
        if url.path == f"{API}/experiments":
            name = _name_filter(query)
            found = [e for e in self.state.experiments.values() if e["display_name"] == name]
            return self._reply({"experiments": found, "total_size": len(found)} if found else {})
        self.send_error(404)

    def do_POST(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        state = self.state
        if url.path in (f"{API}/pipelines/upload", f"{API}/pipelines/upload_version"):
            request = Request("POST", url.path, query, self._upload())
            state.requests.append(request)
            spec = pipeline_spec(request.body)
            if spec is None:
                return self._refuse("failed to parse the pipeline spec: expected pipelineInfo, root and deploymentSpec")
            if url.path.endswith("/upload"):
                pipeline_id = f"pipeline-{len(state.pipelines) + 1}"
                state.pipelines[pipeline_id] = {"pipeline_id": pipeline_id, "display_name": query["name"][0]}
                state.versions[pipeline_id] = []
            else:
                pipeline_id = query["pipelineid"][0]
            version = {"pipeline_id": pipeline_id, "display_name": query["name"][0],
                       "pipeline_version_id": f"{pipeline_id}-v{len(state.versions[pipeline_id]) + 1}"}
            state.versions[pipeline_id].append(version)
            state.specs[version["pipeline_version_id"]] = spec
            return self._reply(state.pipelines[pipeline_id] if url.path.endswith("/upload") else version)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        state.requests.append(Request("POST", url.path, query, body))
        if url.path == f"{API}/experiments":
            experiment = {**body, "experiment_id": f"experiment-{len(state.experiments) + 1}"}
            state.experiments[experiment["experiment_id"]] = experiment
            return self._reply(experiment)
        if url.path == f"{API}/runs":
            version_id = body.get("pipeline_version_reference", {}).get("pipeline_version_id")
            problem = argo_compile_problem(state.specs.get(version_id))
            if problem:
                return self._refuse(f"failed to create a run: {problem}")
            run = {**body, "run_id": f"run-{len(state.runs) + 1}", "state": "PENDING"}
            state.runs.append(run)
            return self._reply(run)
        self.send_error(404)


class KfpStub:
    """`with KfpStub() as server:` serves on 127.0.0.1:<free port>; `server.url`, `server.state`."""

    def __enter__(self) -> KfpStub:
        self.state = KfpState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
