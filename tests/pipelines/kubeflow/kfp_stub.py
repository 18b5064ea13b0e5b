"""A stand-in Kubeflow Pipelines API server on 127.0.0.1: the v2beta1 endpoints `kfp.Client`
calls to upload a pipeline (or a version of it), find or create an experiment and start a run.
It records every request so tests check what the real client sent.

It refuses what the open-source backend refuses (read from its source at 2.17.0,
`backend/src/v2/compiler` and `backend/src/apiserver`): an upload that is not a pipeline spec,
and, when a run is created (the backend compiles the pipeline to an Argo workflow then), any
executor that is neither a container nor an importer ("non-container and non-importer executor
not implemented") and a task depending on a task that does not exist; a recurring run whose
cron robfig/cron v1 does not parse (5 or 6 fields, or a descriptor), whose interval is under a
second or whose max concurrency is outside 1..10.

Multi-user mode (`KfpStub(tokens={TOKEN: {NAMESPACE, ...}})`), as a Kubeflow with profiles
behind token authentication (`apiserver/auth`): a request without `Authorization: Bearer` is
unauthenticated (401), a token it does not know too, and one without access to a namespace is
denied there (403); an experiment or a run with no namespace is invalid input (400).

A run is followed with GET /runs/{id}: each request moves it one step on, its task states listed
in `run_details.task_details`, ending in `KfpState.run_outcome` (the last task failing with it)."""
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
    recurring_runs: list[dict] = field(default_factory=list)
    specs: dict[str, dict] = field(default_factory=dict)  # version id -> its pipeline spec
    tokens: dict[str, set[str]] | None = None  # multi-user: bearer token -> namespaces it may use
    run_outcome: str = "SUCCEEDED"
    polls: dict[str, int] = field(default_factory=dict)  # run id -> GETs so far


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


_CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_problem(cron: str) -> str | None:
    """What robfig/cron v1.2.0's `Parse` (Second | Minute | Hour | Dom | Month | DowOptional |
    Descriptor) refuses in `cron`, by field count; None when it parses."""
    if cron.startswith("@"):
        return None if cron in _CRON_DESCRIPTORS or cron.startswith("@every ") else f"Unrecognized descriptor: {cron}"
    fields = cron.split()
    if not 5 <= len(fields) <= 6:
        return f"Expected 5 to 6 fields, found {len(fields)}: {cron}"
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

    def _refuse(self, message: str, status: int = 400, code: int = 3) -> None:
        """An error as the API server's gateway writes it (gRPC code 3 INVALID_ARGUMENT, 7
        PERMISSION_DENIED, 16 UNAUTHENTICATED)."""
        data = json.dumps({"error_message": message, "code": code}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _upload(self) -> str:
        form = cgi.FieldStorage(fp=io.BytesIO(self.rfile.read(int(self.headers["Content-Length"]))),
                                headers=self.headers, environ={"REQUEST_METHOD": "POST"})
        return form["uploadfile"].file.read().decode()

    def _authenticated(self) -> bool:
        """Multi-user mode: whether the request carries a known bearer token; refuses it if not."""
        if self.state.tokens is None:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            self._refuse("Request header error: there is no user identity header.", 401, 16)
            return False
        if header.removeprefix("Bearer ") not in self.state.tokens:
            self._refuse("Request header error: Failed to review the token provided", 401, 16)
            return False
        return True

    def _may_use(self, namespace: str, what: str) -> bool:
        """Multi-user mode: the namespace is given and the token may use it; refuses it if not."""
        if self.state.tokens is None:
            return True
        if not namespace:
            self._refuse(f"Invalid input error: {what} cannot have an empty namespace in multi-user mode")
            return False
        token = self.headers["Authorization"].removeprefix("Bearer ")
        if namespace not in self.state.tokens[token]:
            self._refuse(f"Failed to authorize with API: PermissionDenied: {what} in namespace {namespace} is not "
                         "allowed for this user", 403, 7)
            return False
        return True

    def _run_progress(self, run: dict) -> dict:
        """The run after one more GET: tasks done in order, then the outcome."""
        state = self.state
        polls = state.polls[run["run_id"]] = state.polls.get(run["run_id"], 0) + 1
        spec = state.specs[run["pipeline_version_reference"]["pipeline_version_id"]]
        names = [task["taskInfo"]["name"] for task in spec["root"]["dag"]["tasks"].values()]
        details = []
        for index, name in enumerate(names):
            if index < polls - 1:
                task_state = "SUCCEEDED"
            elif index == polls - 1:
                task_state = "RUNNING"
            else:
                break
            details.append({"task_id": f"{run['run_id']}-{index}", "display_name": name, "state": task_state})
        finished = polls > len(names)
        if finished and details:
            details[-1]["state"] = "FAILED" if state.run_outcome == "FAILED" else "SUCCEEDED"
        run_state = state.run_outcome if finished else ("RUNNING" if details else "PENDING")
        return {**run, "state": run_state, "run_details": {"task_details": details}}

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.state.requests.append(Request("GET", url.path, query))
        if url.path == f"{API}/healthz":
            return self._reply({"multi_user": self.state.tokens is not None})
        if not self._authenticated():
            return None
        if url.path.startswith(f"{API}/runs/"):
            found = [run for run in self.state.runs if run["run_id"] == url.path.split("/")[-1]]
            if not found:
                return self._refuse("Failed to get run: ResourceNotFoundError", 404, 5)
            if not self._may_use(found[0].get("namespace", ""), "A run"):
                return None
            return self._reply(self._run_progress(found[0]))
        if url.path == f"{API}/pipelines":
            name = _name_filter(query)
            found = [p for p in self.state.pipelines.values() if p["display_name"] == name]
            return self._reply({"pipelines": found, "total_size": len(found)} if found else {})
        if url.path.startswith(f"{API}/pipelines/") and url.path.endswith("/versions"):
            versions = self.state.versions[url.path.split("/")[4]]
            return self._reply({"pipeline_versions": versions[::-1], "total_size": len(versions)})
        if url.path == f"{API}/experiments":
            namespace = query.get("namespace", [""])[0]
            if not self._may_use(namespace, "An experiment"):
                return None
            name = _name_filter(query)
            found = [e for e in self.state.experiments.values()
                     if e["display_name"] == name and e.get("namespace", "") == namespace]
            return self._reply({"experiments": found, "total_size": len(found)} if found else {})
        self.send_error(404)

    def do_POST(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        state = self.state
        if not self._authenticated():
            state.requests.append(Request("POST", url.path, query))
            return None
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
            if not self._may_use(body.get("namespace", ""), "An experiment"):
                return None
            experiment = {**body, "experiment_id": f"experiment-{len(state.experiments) + 1}"}
            state.experiments[experiment["experiment_id"]] = experiment
            return self._reply(experiment)
        if url.path in (f"{API}/runs", f"{API}/recurringruns"):
            experiment = state.experiments.get(body.get("experiment_id", ""), {})
            if not self._may_use(experiment.get("namespace", ""), "A run"):
                return None
            version_id = body.get("pipeline_version_reference", {}).get("pipeline_version_id")
            problem = argo_compile_problem(state.specs.get(version_id))
            if problem is None and url.path.endswith("/recurringruns"):
                problem = _schedule_problem(body)
            if problem:
                return self._refuse(f"failed to create a run: {problem}")
            if url.path.endswith("/recurringruns"):
                recurring = {**body, "recurring_run_id": f"recurring-{len(state.recurring_runs) + 1}",
                             "namespace": experiment.get("namespace", ""), "status": "ENABLED"}
                state.recurring_runs.append(recurring)
                return self._reply(recurring)
            run = {**body, "run_id": f"run-{len(state.runs) + 1}", "state": "PENDING",
                   "namespace": experiment.get("namespace", "")}
            state.runs.append(run)
            return self._reply(run)
        self.send_error(404)


def _schedule_problem(body: dict) -> str | None:
    """What the API server's recurring-run conversion refuses (`api_converter.go`)."""
    concurrency = int(body.get("max_concurrency", 1) or 1)
    if not 1 <= concurrency <= 10:
        return f"Max concurrency of a recurring run must be at least 1 and at most 10. Received {concurrency}"
    trigger = body.get("trigger", {})
    cron = trigger.get("cron_schedule", {}).get("cron")
    if cron is not None and (problem := cron_problem(cron)):
        return f"Schedule cron is not a supported format(https://godoc.org/github.com/robfig/cron). Error: {problem}"
    interval = trigger.get("periodic_schedule", {}).get("interval_second")
    if interval is not None and int(interval) < 1:
        return f"Found invalid period schedule interval {interval}. Set at interval to least 1 second"
    return None


class KfpStub:
    """`with KfpStub() as server:` serves on 127.0.0.1:<free port>; `server.url`, `server.state`.
    `tokens` makes it a multi-user server (see the module docstring)."""

    def __init__(self, tokens: dict[str, set[str]] | None = None) -> None:
        self.tokens = tokens

    def __enter__(self) -> KfpStub:
        self.state = KfpState(tokens=self.tokens)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
