"""`coursepipe run-compiled` on KFP pipeline YAML: the backend's rules on small pipelines.

The pipelines here are compiled by the KFP SDK itself; their steps are tiny Python scripts that
record what they were given and when they ran, so order, parallelism, parameters, the run id and
failures are checked in seconds. The compiled iris pipeline runs in test_kfp_run_compiled_e2e.py.
"""
# No `from __future__ import annotations`: the KFP SDK reads the pipeline function's annotations as types.

import json
import os
import re

import pytest
import yaml
from kfp import compiler, components, dsl

from pipelines import cli
from pipelines.kubeflow.backend_versions import parse_version
from pipelines.kubeflow.compiled import CompiledPipelineError, CompiledStepError
from pipelines.kubeflow.kfp_artifacts import read_records
from pipelines.kubeflow.kfp_local_runner import KfpPipelineRunner, is_kfp_pipeline

# A step: records its arguments and its start and end times in OUT/<name>.json after sleeping
# `seconds`; exits 3 when its name is in FAIL (an environment variable, as a pod's).
STEP = r"""
import json, os, sys, time
name, run_id, value, seconds = sys.argv[1:5]
started = time.time()
time.sleep(float(seconds))
if name in os.environ.get("FAIL", "").split(","):
    print(f"{name} failed on purpose")
    sys.exit(3)
with open(os.path.join(os.environ["OUT"], name + ".json"), "w") as handle:
    json.dump({"run_id": run_id, "value": value, "started": started, "ended": time.time(),
               "greeting": os.environ.get("GREETING")}, handle)
"""


def _step(name: str, kind: str = "String"):
    document = {
        "name": name,
        "inputs": [{"name": "run_id", "type": "String"}, {"name": "value", "type": kind},
                   {"name": "seconds", "type": "Float"}],
        "implementation": {"container": {"image": "unused", "command": ["python", "-c", STEP], "args": [
            name, {"inputValue": "run_id"}, {"inputValue": "value"}, {"inputValue": "seconds"}]}},
    }
    return components.load_component_from_text(yaml.safe_dump(document))


@dsl.pipeline(name="diamond")
def diamond(rows: int = 3, bound: float = 0.9):
    """A -> (B, C in parallel) -> D."""
    a = _step("a", "Integer")(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, value=rows, seconds=0.0)
    b = _step("b", "Float")(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, value=bound, seconds=1.5).after(a)
    c = _step("c")(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, value="text", seconds=1.5).after(a)
    c.set_env_variable("GREETING", "hello")
    _step("d")(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, value="last", seconds=0.0).after(b, c)


@pytest.fixture
def diamond_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("OUT", str(out))
    path = tmp_path / "diamond.yaml"
    compiler.Compiler().compile(diamond, str(path))
    return path, out


def _records(out) -> dict[str, dict]:
    return {name[: -len(".json")]: json.loads((out / name).read_text()) for name in os.listdir(out)}


def _load(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return next(yaml.safe_load_all(handle))


def test_steps_run_in_dependency_order_independent_ones_in_parallel(diamond_file, tmp_path):
    path, out = diamond_file
    run = KfpPipelineRunner(_load(path), parallelism=4).run(log_dir=str(tmp_path / "logs"))
    records = _records(out)
    assert set(records) == {"a", "b", "c", "d"}
    assert records["a"]["ended"] <= min(records["b"]["started"], records["c"]["started"])
    assert max(records["b"]["ended"], records["c"]["ended"]) <= records["d"]["started"]
    assert records["b"]["started"] < records["c"]["ended"] and records["c"]["started"] < records["b"]["ended"]
    assert [step.task for step in run.steps][0] == "a" and run.steps[-1].task == "d"
    assert sorted(os.listdir(tmp_path / "logs")) == ["a.log", "b.log", "c.log", "d.log", "kfp-artifacts.json"]


def test_parameters_reach_the_arguments_as_the_launcher_writes_them(diamond_file, tmp_path):
    path, out = diamond_file
    run = KfpPipelineRunner(_load(path)).run({"bound": "0.75"}, log_dir=str(tmp_path / "logs"))
    records = _records(out)
    assert records["a"]["value"] == "3" and records["b"]["value"] == "0.75" and records["c"]["value"] == "text"
    assert {record["run_id"] for record in records.values()} == {run.run_id}  # the driver's {{$.pipeline_job_uuid}}
    assert records["c"]["greeting"] == "hello" and records["b"]["greeting"] is None  # the container's own env


def test_a_failed_step_fails_the_run_and_starts_nothing_after_it(diamond_file, tmp_path, monkeypatch):
    path, out = diamond_file
    monkeypatch.setenv("FAIL", "b")
    with pytest.raises(CompiledStepError) as caught:
        KfpPipelineRunner(_load(path), parallelism=4).run(log_dir=str(tmp_path / "logs"))
    assert caught.value.task == "b" and caught.value.returncode == 3
    assert "b failed on purpose" in str(caught.value)
    assert set(_records(out)) == {"a", "c"}  # c was running and finished; d never started


def test_a_resolver_task_is_refused_as_the_open_source_backend_refuses_it(iris_spec, tmp_path):
    from pipelines.kubeflow.vertex_compiler import compile_for_vertex

    vertex = compile_for_vertex(iris_spec, str(tmp_path / "v.json"), pipeline_root="gs://b/r", image="i")
    assert not is_kfp_pipeline(vertex) and not is_kfp_pipeline({"pipelineSpec": {}})
    with pytest.raises(CompiledPipelineError, match="non-container and non-importer executor not implemented"):
        KfpPipelineRunner(vertex["pipelineSpec"])


def test_an_edge_to_a_missing_task_is_refused(diamond_file):
    path, _ = diamond_file
    pipeline = _load(path)
    pipeline["root"]["dag"]["tasks"]["d"]["dependentTasks"].append("e")
    with pytest.raises(CompiledPipelineError, match="task d: depends on task e, which does not exist"):
        KfpPipelineRunner(pipeline)


def test_a_placeholder_inside_arguments_is_not_filled_in(diamond_file, tmp_path):
    """KFP's driver fills `{{$.pipeline_job_uuid}}` as a parameter's constant only; an argument
    holding it would reach the container verbatim, so the runner refuses it instead."""
    path, _ = diamond_file
    pipeline = _load(path)
    pipeline["deploymentSpec"]["executors"]["exec-a"]["container"]["args"][1] = "{{$.pipeline_job_uuid}}"
    with pytest.raises(CompiledPipelineError, match=r"task a: placeholder \{\{\$.pipeline_job_uuid\}\} is not"):
        KfpPipelineRunner(pipeline).run(log_dir=str(tmp_path / "logs"))


def test_run_compiled_reports_a_failed_step_and_a_refused_pipeline(diamond_file, tmp_path, capsys, monkeypatch):
    path, _ = diamond_file
    monkeypatch.setenv("FAIL", "a")
    assert cli.main(["run-compiled", str(path), "--log-dir", str(tmp_path / "logs")]) == 1
    err = capsys.readouterr().err
    assert "step a exited with status 3" in err and "a failed on purpose" in err and "Traceback" not in err
    pipeline = _load(path)
    pipeline["root"]["dag"]["tasks"]["d"]["dependentTasks"].append("e")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(pipeline))
    assert cli.main(["run-compiled", str(broken)]) == 2
    assert "task d: depends on task e" in capsys.readouterr().err
    assert cli.main(["run-compiled", str(path), "--param", "rowz=1"]) == 2
    assert "unknown pipeline parameter(s) rowz" in capsys.readouterr().err



@dsl.pipeline(name="run-ids")
def run_ids():
    """One step gets KFP's run placeholder, the other Argo's, as a parameter constant."""
    _step("kfp")(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER, value="x", seconds=0.0)
    _step("argo")(run_id="{{workflow.uid}}", value="x", seconds=0.0)


@pytest.mark.parametrize("version, kfp_placeholder_filled", [
    ("2.0.0", False), ("2.4.1", False), ("2.5.0", True), ("2.17.0", True)])
def test_only_backends_from_2_5_fill_the_kfp_run_placeholder_and_every_one_fills_workflow_uid(
        version, kfp_placeholder_filled, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("OUT", str(out))
    path = tmp_path / "run_ids.yaml"
    compiler.Compiler().compile(run_ids, str(path))
    run = KfpPipelineRunner(_load(path), backend_version=parse_version(version)).run(log_dir=str(tmp_path / "logs"))
    records = _records(out)
    run_id = records["argo"]["run_id"]
    assert run_id == run.run_id and re.fullmatch(r"[0-9a-f-]{36}", run_id)  # the API server's ReplaceUID
    assert records["kfp"]["run_id"] == (run_id if kfp_placeholder_filled else "{{$.pipeline_job_uuid}}")


@pytest.mark.parametrize("version", ["1.8.5", "2.18.0", "latest"])
def test_an_unsupported_backend_version_is_a_usage_error(diamond_file, version, capsys):
    path, _ = diamond_file
    assert cli.main(["run-compiled", str(path), "--backend-version", version]) == 2
    assert "--backend-version: " in capsys.readouterr().err


def test_a_pipeline_compiled_for_the_clusters_metadata_service_is_refused_before_any_step(iris_spec, tmp_path, capsys):
    from pipelines.kubeflow.kfp_compiler import compile_for_kfp

    path = tmp_path / "iris.yaml"
    compile_for_kfp(iris_spec, str(path), pipeline_root=str(tmp_path / "root"), image="unused")  # gRPC: the default
    assert cli.main(["run-compiled", str(path), "--log-dir", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err
    assert "its steps use ML Metadata at grpc://metadata-grpc-service.kubeflow:8080, which this machine cannot " \
           "reach" in err
    assert "compile it with --metadata sqlite:///ABSOLUTE/PATH" in err and "Traceback" not in err
    assert not (tmp_path / "logs").exists()  # no step started


def test_tolerations_are_refused_by_a_2_0_backend_and_read_from_2_1(iris_spec, tmp_path, capsys):
    from pipelines.kubeflow.kfp_compiler import compile_for_kfp
    from tests.conftest import spec_with

    spec = spec_with(iris_spec, kubeflow={"trainer": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}})
    path = tmp_path / "iris.yaml"
    compile_for_kfp(spec, str(path), pipeline_root=str(tmp_path / "root"), image="unused",
                    metadata=f"sqlite://{tmp_path}/root/metadata.sqlite")
    assert cli.main(["run-compiled", str(path), "--backend-version", "2.0.5"]) == 2
    err = capsys.readouterr().err
    assert 'KFP backend 2.0.5 refuses the platform spec (unknown field "tolerations"); tolerations need backend ' \
           "2.1.0 or newer" in err
    documents = list(yaml.safe_load_all(path.read_text()))
    runner = KfpPipelineRunner(documents[0], backend_version=parse_version("2.1.0"), platform_spec=documents[1])
    assert len(runner.tasks) == 10


# A step with KFP output artifacts: writes an HTML file and, through the executor-output file named
# in `{{$}}`, the metadata of a Metrics artifact; with "skip" it writes nothing.
REPORTER = r"""
import json, os, sys
report, scores, executor_input, mode = sys.argv[1:5]
if mode != "skip":
    with open(report, "w") as handle:
        handle.write("<p>accuracy 0.97</p>")
    with open(scores, "w") as handle:
        handle.write("{}")
    output_file = json.loads(executor_input)["outputs"]["outputFile"]
    os.makedirs(os.path.dirname(output_file), exist_ok=True)
    with open(output_file, "w") as handle:
        json.dump({"artifacts": {"scores": {"artifacts": [{"metadata": {"accuracy": 0.97}}]}}}, handle)
"""


def _reporter(mode: str):
    document = {
        "name": f"report-{mode}",
        "outputs": [{"name": "report", "type": "HTML"}, {"name": "scores", "type": "Metrics"}],
        "implementation": {"container": {"image": "unused", "command": ["python", "-c", REPORTER], "args": [
            {"outputPath": "report"}, {"outputPath": "scores"}, {"executorInput": None}, mode]}},
    }
    return components.load_component_from_text(yaml.safe_dump(document))


@dsl.pipeline(name="reports")
def reports():
    _reporter("write")()
    _reporter("skip")()


def test_output_artifacts_are_written_locally_then_stored_under_kfps_root_with_their_metadata(tmp_path):
    path = tmp_path / "reports.yaml"
    compiler.Compiler().compile(reports, str(path))
    run = KfpPipelineRunner(_load(path)).run(log_dir=str(tmp_path / "logs"))
    artifacts = {(a.task, a.name): a for a in read_records(str(tmp_path / "logs"))}
    assert artifacts == {(a.task, a.name): a for a in run.artifacts}
    report, scores = artifacts[("report-write", "report")], artifacts[("report-write", "scores")]
    assert report.uri == f"minio://mlpipeline/v2/artifacts/reports/{run.run_id}/report-write/report"
    assert report.schema_title == "system.HTML" and scores.schema_title == "system.Metrics"
    assert open(report.stored_file).read() == "<p>accuracy 0.97</p>"
    assert report.stored_file == str(tmp_path / "logs" / "object-store" / report.uri.split("://", 1)[1])
    assert scores.metadata == {"accuracy": 0.97} and report.metadata == {}
    skipped = artifacts[("report-skip", "report")]  # the launcher only warns of a missing file
    assert skipped.stored_file is None and skipped.metadata == {}
