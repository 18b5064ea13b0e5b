"""The compiled iris pipeline for open-source KFP, run here step by step as the cluster would.

One module fixture compiles iris (SQLite ML Metadata and a local root, the data in span folders)
and runs it four times with `coursepipe run-compiled`, each step in its own process:
1. span 1: everything executes, the model is blessed and pushed;
2. unchanged, as KFP backend 2.4.1 (whose driver leaves `{{$.pipeline_job_uuid}}` as it is):
   every step comes from TFX's cache in a run of its own, nothing new is pushed;
3. `train_epochs` changed, the Trainer's process killed once mid-execution: it is retried, and
   exactly Trainer, Evaluator and Pusher execute, against run 1's model, with one push;
4. span 2 with petal_length shifted: the validator stops the run with the drift row.
Then the YAML as the previous compiler wrote it (`{{$.pipeline_job_uuid}}`) on 2.4.1: its steps
refuse the unfilled run id (exit 2) instead of silently taking run 1's executions.
The slow tier runs it with ML Metadata on a real MariaDB server.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from io import StringIO

import ml_metadata as mlmd
import pytest
import yaml
from ml_metadata.proto import metadata_store_pb2

from pipelines import cli
from pipelines.kubeflow.kfp_artifacts import KfpArtifact, read_records
from pipelines.runs.summary import RunSummary, summary_of_run
from tests.components.validation_data import iris_rows, write_iris_source_file
from tests.conftest import spec_with
from tests.mariadb_server import installed as mariadb_server_installed
from tests.mariadb_server import mariadb_server

PIPELINE = "iris-softmax"


@dataclass
class CompiledRun:
    code: int
    stdout: str
    stderr: str
    run_id: str | None
    serving: list[str]  # model versions in the serving directory after the run
    log_dir: str | None = None


def _run_compiled(pipeline_file: str, serving_dir: str, *extra: str) -> CompiledRun:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["run-compiled", pipeline_file, *extra])
    match = re.search(r"^run ([0-9a-f-]{36}) ", out.getvalue(), re.MULTILINE)
    serving = sorted(os.listdir(serving_dir)) if os.path.isdir(serving_dir) else []
    log_dir = extra[extra.index("--log-dir") + 1] if "--log-dir" in extra else None
    return CompiledRun(code, out.getvalue(), err.getvalue(), match.group(1) if match else None, serving, log_dir)


@dataclass
class CompiledRuns:
    store_config: metadata_store_pb2.ConnectionConfig
    store: mlmd.MetadataStore
    first: CompiledRun
    unchanged: CompiledRun
    longer: CompiledRun
    drifted: CompiledRun
    stale_placeholder: CompiledRun
    killed_trainer_pid: int | None

    def summary(self, run: CompiledRun) -> RunSummary:
        return summary_of_run(self.store_config, run.run_id)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, iris_spec):
    base = tmp_path_factory.mktemp("compiled")
    spec = spec_with(iris_spec, training={"epochs": 50, "validation_freq": 10}, evaluation={"lower_bound": 0.3},
                     kubeflow={"retry_backoff_seconds": 1})
    spec_file, pipeline_file = base / "iris_spans.yaml", str(base / "iris.yaml")
    spec_file.write_text(spec.to_yaml())
    data_dir, root = str(base / "data"), str(base / "root")
    metadata_path = os.path.join(root, "metadata.sqlite")
    rows = iris_rows()
    write_iris_source_file(os.path.join(data_dir, "span-1", "iris.csv"), rows)
    assert cli.main(["compile", "--spec", str(spec_file), "--output", pipeline_file, "--pipeline-root", root,
                     "--image", "registry.example/course-pipelines:test", "--metadata", f"sqlite://{metadata_path}",
                     "--data-dir", data_dir]) == 0
    serving = os.path.join(root, "serving")
    first = _run_compiled(pipeline_file, serving, "--log-dir", str(base / "first-logs"))
    unchanged = _run_compiled(pipeline_file, serving, "--backend-version", "2.4.1", "--log-dir",
                              str(base / "unchanged-logs"))
    longer_logs = base / "longer-logs"
    killer = KillOnce(str(longer_logs / "trainer.log"), "Trainer")
    killer.start()
    try:
        longer = _run_compiled(pipeline_file, serving, "--param", "train_epochs=60", "--log-dir", str(longer_logs))
    finally:
        killer.stop.set()
        killer.join()
    std = (sum((r["petal_length"] - 3.758) ** 2 for r in rows) / len(rows)) ** 0.5
    shifted = [dict(row, petal_length=round(row["petal_length"] + 2 * std, 2)) for row in rows]
    write_iris_source_file(os.path.join(data_dir, "span-2", "iris.csv"), shifted)
    drifted = _run_compiled(pipeline_file, serving)
    stale_file = base / "iris-before-2.5-fix.yaml"
    stale_file.write_text(open(pipeline_file, encoding="utf-8").read().replace("{{workflow.uid}}",
                                                                              "{{$.pipeline_job_uuid}}"))
    stale_placeholder = _run_compiled(str(stale_file), serving, "--backend-version", "2.4.1")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    return CompiledRuns(config, mlmd.MetadataStore(config), first, unchanged, longer, drifted, stale_placeholder,
                        killer.killed)


def _step_process(node_id: str) -> int | None:
    """The pid of a running step (`node_runner`) process whose node IR is `node_id`'s."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                args = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "pipelines.kubeflow.node_runner" in args and "--node-ir" in args:
            node = json.loads(args[args.index("--node-ir") + 1])["nodes"][0]["pipelineNode"]
            if node["nodeInfo"]["id"] == node_id:
                return int(entry)
    return None


class KillOnce(threading.Thread):
    """SIGKILLs the step process of `node_id` once, as an eviction would, as soon as its log says
    TFX registered the execution and starts the executor."""

    def __init__(self, log_path: str, node_id: str) -> None:
        super().__init__(daemon=True)
        self.log_path, self.node_id = log_path, node_id
        self.stop = threading.Event()
        self.killed: int | None = None

    def run(self) -> None:
        while not self.stop.wait(0.2):
            if not os.path.exists(self.log_path):
                continue
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                if "Going to run a new execution" not in log.read():
                    continue
            pid = _step_process(self.node_id)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                self.killed = pid
                return


def _node_io(store: mlmd.MetadataStore, run_id: str, node_id: str, key: str, event_type: int) -> list[str]:
    """URIs of `node_id`'s artifacts under `key` (inputs or outputs) in the run `run_id`."""
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    node = store.get_context_by_type_and_name("node", f"{PIPELINE}.{node_id}")
    in_run = {e.id for e in store.get_executions_by_context(run.id)}
    executions = [e.id for e in store.get_executions_by_context(node.id) if e.id in in_run]
    artifact_ids = [event.artifact_id for event in store.get_events_by_execution_ids(executions)
                    if event.type == event_type and event.path.steps[0].key == key]
    return [artifact.uri for artifact in store.get_artifacts_by_id(artifact_ids)]


def test_the_first_run_executes_every_step_and_pushes(runs):
    first = runs.first
    assert first.code == 0, first.stdout + first.stderr
    summary = runs.summary(first)
    assert sorted(summary.executed) == sorted(["CourseExampleGen", "ImportSchemaGen", "StatisticsGen",
                                               "ExampleValidator", "Transform", "Trainer", "Evaluator", "Pusher"])
    assert summary.blessed is True and summary.span == 1 and len(first.serving) == 1
    assert "8 executed" in first.stdout and "blessed: yes" in first.stdout and "pushed to: " in first.stdout


def test_an_unchanged_run_executes_nothing_and_pushes_nothing(runs):
    """On backend 2.4.1: the run id reached TFX (its executions are in a run of their own)."""
    unchanged = runs.unchanged
    assert unchanged.code == 0, unchanged.stdout + unchanged.stderr
    assert "as KFP backend 2.4.1" in unchanged.stdout and unchanged.run_id != runs.first.run_id
    summary = runs.summary(unchanged)
    assert summary.executed == [] and len(summary.cached) == 8
    assert unchanged.serving == runs.first.serving
    assert "0 executed (none), 8 from cache" in unchanged.stdout


def test_a_changed_parameter_reruns_exactly_training_against_the_first_model(runs):
    """The Trainer's first process was killed mid-execution: its retry ran it to the end, one push."""
    longer = runs.longer
    assert longer.code == 0, longer.stdout + longer.stderr
    assert "train_epochs=60" in longer.stdout
    assert runs.killed_trainer_pid is not None
    assert re.search(r"^  Trainer +[0-9.]+ s \(2 tries: failed 1, then succeeded\)$", longer.stdout, re.MULTILINE)
    assert len(longer.serving) == len(runs.first.serving) + 1
    summary = runs.summary(longer)
    assert sorted(summary.executed) == ["Evaluator", "Pusher", "Trainer"]
    first_model = _node_io(runs.store, runs.first.run_id, "Trainer", "model", metadata_store_pb2.Event.OUTPUT)
    baseline = _node_io(runs.store, longer.run_id, "Evaluator", "baseline_model", metadata_store_pb2.Event.INPUT)
    assert baseline == first_model and len(first_model) == 1
    candidate = _node_io(runs.store, longer.run_id, "Evaluator", "model", metadata_store_pb2.Event.INPUT)
    assert candidate != first_model


def test_a_drifted_span_stops_at_the_validator_with_the_drift_row(runs):
    drifted = runs.drifted
    assert drifted.code == 1
    assert "step examplevalidator exited with status 1" in drifted.stderr
    drift_rows = [line for line in drifted.stderr.splitlines() if "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH" in line]
    assert drift_rows and all("petal_length" in row for row in drift_rows)
    assert "Traceback" not in drifted.stderr.split("\n", 1)[0]
    assert drifted.serving == runs.longer.serving  # nothing new pushed; what was served stays



def _run_compiled_process(pipeline_file: str, environment: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    """`coursepipe run-compiled` as its own process: with tensorflow-io's S3 filesystem loaded, a
    Python process aborts in its shutdown, which the command skips and a test process would not."""
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "coursepipe"), "run-compiled",
                           pipeline_file, *extra], env=environment, capture_output=True, text=True, check=False)


@pytest.mark.slow
@pytest.mark.skipif(not mariadb_server_installed(), reason="needs Debian's mariadb-server (apt-get install mariadb-server)")
def test_the_compiled_pipeline_on_mysql_metadata_and_an_s3_root(tmp_path, iris_spec):
    """What a cluster without KFP's metadata service has: ML Metadata on a real MySQL-compatible
    server (MariaDB, started here) and the pipeline root in an S3-compatible store (moto's server),
    steps in parallel processes, StatisticsGen, Transform and Evaluator with a CPU limit of 2 and
    so Beam's multi-processing workers (fresh processes that must open s3:// files through
    TensorFlow). The endpoint reaches the steps through `compile --env`, as it would reach pods. A
    login the server refuses fails the first step with a message naming the credentials; with the
    right one the run executes and pushes into the bucket, and an unchanged run takes everything
    from the cache."""
    import boto3
    from moto.server import ThreadedMotoServer

    pipeline_file, spec_file = str(tmp_path / "iris.yaml"), tmp_path / "iris_beam_workers.yaml"
    two_cores = {"cpu": "2"}
    spec_file.write_text(spec_with(iris_spec, kubeflow={"resources": {
        "StatisticsGen": two_cores, "Transform": two_cores, "Evaluator": two_cores}}).to_yaml())
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3.start()
    host, port = s3.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # What the cluster's secrets give the pods; the endpoint is compiled in (--env).
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "course", "AWS_SECRET_ACCESS_KEY": "course-secret"}
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="course", aws_secret_access_key="course-secret")
        client.create_bucket(Bucket="course")
        with mariadb_server(tmp_path) as server:
            assert cli.main(["compile", "--spec", str(spec_file), "--output", pipeline_file,
                             "--pipeline-root", "s3://course/root", "--image", "registry.example/course-pipelines:test",
                             "--metadata", f"mysql://127.0.0.1:{server.port}/mlmd", "--env", f"S3_ENDPOINT={endpoint}",
                             "--env", f"AWS_ENDPOINT_URL={endpoint}", "--env", "AWS_REGION=us-east-1",
                             "--env", "AWS_DEFAULT_REGION=us-east-1",
                             "--secret-env", "AWS_ACCESS_KEY_ID=mlpipeline-minio-artifact:accesskey",
                             "--secret-env", "AWS_SECRET_ACCESS_KEY=mlpipeline-minio-artifact:secretkey"]) == 0
            with open(pipeline_file, encoding="utf-8") as handle:
                executors = next(yaml.safe_load_all(handle))["deploymentSpec"]["executors"]
            multi_processing = [label for label, executor in executors.items()
                                if "--direct_running_mode=multi_processing" in executor["container"]["args"][1]]
            assert sorted(multi_processing) == ["exec-evaluator", "exec-statisticsgen", "exec-transform"]
            environment["MLMD_MYSQL_USER"] = server.user
            refused = _run_compiled_process(pipeline_file, {**environment, "MLMD_MYSQL_PASSWORD": "not-the-password"},
                                            "--param", "train_epochs=50", "--log-dir", str(tmp_path / "refused"))
            environment["MLMD_MYSQL_PASSWORD"] = server.password
            first = _run_compiled_process(pipeline_file, environment, "--param", "train_epochs=50",
                                          "--log-dir", str(tmp_path / "first"))
            second = _run_compiled_process(pipeline_file, environment, "--param", "train_epochs=50",
                                           "--log-dir", str(tmp_path / "second"))
        pushed = {obj["Key"] for obj in client.list_objects_v2(Bucket="course", Prefix="root/serving/").get("Contents", [])}
    finally:
        s3.stop()
    assert refused.returncode == 1
    assert f"cannot open ML Metadata at mysql://127.0.0.1:{server.port}/mlmd" in refused.stderr
    assert "check MLMD_MYSQL_USER and MLMD_MYSQL_PASSWORD" in refused.stderr
    assert first.returncode == 0, first.stdout + first.stderr
    assert "8 executed" in first.stdout and "blessed: yes" in first.stdout
    assert "pushed to: s3://course/root/serving/" in first.stdout
    assert any(key.endswith("/saved_model.pb") for key in pushed)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 executed (none), 8 from cache" in second.stdout


def _kfp_artifacts(run: CompiledRun) -> dict[tuple[str, str], KfpArtifact]:
    return {(artifact.task, artifact.name): artifact for artifact in read_records(run.log_dir)}


@pytest.mark.parametrize("which", ["first", "unchanged"])
def test_the_kfp_ui_gets_metrics_and_views_of_each_step_executed_or_cached(runs, which):
    """What KFP's launcher stores under its root and records for the UI's Visualizations tab."""
    run = getattr(runs, which)
    artifacts = _kfp_artifacts(run)
    assert set(artifacts) == {("statisticsgen", "metrics"), ("statisticsgen", "view"), ("examplevalidator", "metrics"),
                              ("examplevalidator", "view"), ("trainer", "view"), ("evaluator", "metrics"),
                              ("evaluator", "view"), ("pusher", "metrics"), ("pusher", "view")}
    for artifact in artifacts.values():
        assert artifact.uri.startswith(f"minio://mlpipeline/v2/artifacts/{PIPELINE}/{run.run_id}/{artifact.task}/")
        assert artifact.stored_file and artifact.stored_file.endswith(artifact.uri.split("://", 1)[1])
    counts = artifacts[("statisticsgen", "metrics")].metadata
    assert counts["examples_train"] + counts["examples_eval"] == 150
    evaluation = artifacts[("evaluator", "metrics")]
    assert evaluation.schema_title == "system.Metrics"
    assert evaluation.metadata["sparse_categorical_accuracy"] >= 0.3
    assert evaluation.metadata["sparse_categorical_accuracy_lower_bound"] == 0.3
    assert evaluation.metadata["blessed"] == 1.0 and artifacts[("pusher", "metrics")].metadata["pushed"] == 1.0
    views = {key: open(artifact.stored_file, encoding="utf-8").read() for key, artifact in artifacts.items()
             if key[1] == "view"}
    assert "<img alt='training curves' src='data:image/png;base64," in views[("trainer", "view")]
    assert "<th>lower bound</th>" in views[("evaluator", "view")] and "Blessed: yes" in views[("evaluator", "view")]
    assert "Data validation" in views[("examplevalidator", "view")]
    assert "<h3>train</h3>" in views[("statisticsgen", "view")]
    assert artifacts[("pusher", "view")].schema_title == "system.Markdown"
    assert views[("pusher", "view")].startswith("## Pushed")
    assert "KFP UI artifacts: 9 (9 files stored under KFP's root)" in run.stdout


def test_a_pipeline_compiled_with_kfps_run_placeholder_stops_on_a_backend_before_2_5(runs):
    stale = runs.stale_placeholder
    assert stale.code == 1
    assert "exited with status 2" in stale.stderr
    assert "--run-id: '{{$.pipeline_job_uuid}}' is a placeholder the KFP backend did not fill in" in stale.stderr
    assert stale.serving == runs.longer.serving
