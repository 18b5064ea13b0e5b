"""`coursepipe submit`: the real kfp.Client against a stand-in KFP API server on 127.0.0.1 that
refuses what the open-source backend refuses."""
from __future__ import annotations

import json

import kfp
import kfp_server_api
import pytest

from pipelines import cli
from pipelines.kubeflow.vertex_compiler import compile_for_vertex
from tests.pipelines.kubeflow.kfp_stub import API, KfpStub, pipeline_spec

ROOT = "gs://course-pipelines-test/root"
IMAGE = "registry.example/course-pipelines:test"


def _submit(server, capsys, *extra):
    code = cli.main(["submit", "iris_softmax", "--host", server.url, "--pipeline-root", ROOT, "--image", IMAGE, *extra])
    return code, capsys.readouterr()


def test_submit_uploads_the_pipeline_spec_and_starts_a_run(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # kfp.Client reads ~/.config/kfp/context.json
    with KfpStub() as server:
        code, output = _submit(server, capsys, "--experiment", "course")
        state = server.state
    assert code == 0, output.err
    upload = next(r for r in state.requests if r.path == f"{API}/pipelines/upload")
    assert upload.query["name"] == ["iris-softmax"]
    spec = pipeline_spec(upload.body)
    assert spec["pipelineInfo"]["name"] == "iris-softmax" and "defaultPipelineRoot" not in spec
    assert "trainer" in spec["root"]["dag"]["tasks"]
    assert spec["deploymentSpec"]["executors"]["exec-trainer"]["container"]["image"] == IMAGE
    experiment = next(r for r in state.requests if r.method == "POST" and r.path == f"{API}/experiments")
    assert experiment.body["display_name"] == "course"
    (run,) = state.runs
    assert run["experiment_id"] == "experiment-1"
    assert run["pipeline_version_reference"] == {"pipeline_id": "pipeline-1", "pipeline_version_id": "pipeline-1-v1"}
    assert run["display_name"].startswith("iris-softmax-")
    assert "run run-1" in output.out and f"{server.url}/#/runs/details/run-1" in output.out


def test_a_second_submit_adds_a_version_and_reuses_the_experiment(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        assert _submit(server, capsys)[0] == 0
        code, output = _submit(server, capsys)
        state = server.state
    assert code == 0, output.err
    assert [r.path for r in state.requests if r.method == "POST" and "upload" in r.path] == [
        f"{API}/pipelines/upload", f"{API}/pipelines/upload_version"]
    assert len(state.experiments) == 1 and len(state.runs) == 2
    assert state.runs[1]["pipeline_version_reference"]["pipeline_version_id"] == "pipeline-1-v2"


def test_submit_without_an_image_is_a_spec_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        code = cli.main(["submit", "iris_softmax", "--host", server.url, "--pipeline-root", ROOT])
        assert server.state.requests == []
    assert code == 2 and "kubeflow.image" in capsys.readouterr().err


def test_submit_sends_the_run_parameters_typed_with_defaults_for_the_rest(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        code, output = _submit(server, capsys, "--param", "train_epochs=50")
        state = server.state
    assert code == 0, output.err
    (run,) = state.runs
    assert run["runtime_config"]["parameters"] == {"train_epochs": 50, "eval_lower_bound": 0.9}
    spec = pipeline_spec(next(r for r in state.requests if r.path == f"{API}/pipelines/upload").body)
    assert spec["root"]["inputDefinitions"]["parameters"]["train_epochs"]["defaultValue"] == 500


def test_submit_rejects_an_unknown_or_mistyped_parameter_before_sending_anything(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        unknown, unknown_output = _submit(server, capsys, "--param", "epochs=5")
        mistyped, mistyped_output = _submit(server, capsys, "--param", "train_epochs=2.5")
        assert server.state.requests == []
    assert unknown == 2 and "unknown pipeline parameter(s) epochs" in unknown_output.err
    assert "eval_lower_bound, train_epochs" in unknown_output.err
    assert mistyped == 2 and "train_epochs: expected a whole number, got '2.5'" in mistyped_output.err


def _upload_and_run(server, spec: dict, tmp_path):
    package = tmp_path / "package.json"
    package.write_text(json.dumps(spec))
    client = kfp.Client(host=server.url)
    pipeline = client.upload_pipeline(str(package), pipeline_name=spec["pipelineInfo"]["name"])
    version = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions[0]
    experiment = client.create_experiment("course")
    return client.run_pipeline(experiment_id=experiment.experiment_id, job_name="run", pipeline_id=pipeline.pipeline_id,
                               version_id=version.pipeline_version_id)


def test_the_stand_in_server_refuses_resolver_tasks_like_the_open_source_backend(iris_spec, monkeypatch, tmp_path):
    """The Vertex JSON (TFX's resolver tasks) uploads, and creating a run of it fails, as on KFP 2.x."""
    monkeypatch.setenv("HOME", str(tmp_path))
    vertex = compile_for_vertex(iris_spec, str(tmp_path / "vertex.json"), pipeline_root=ROOT, image=IMAGE)
    with KfpStub() as server:
        with pytest.raises(kfp_server_api.ApiException) as refused:
            _upload_and_run(server, vertex["pipelineSpec"], tmp_path)
        assert server.state.runs == []
    assert refused.value.status == 400
    assert "non-container and non-importer executor not implemented" in refused.value.body


def test_the_stand_in_server_refuses_an_edge_to_a_missing_task(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    output = tmp_path / "p.yaml"
    assert cli.main(["compile", "iris_softmax", "--output", str(output), "--pipeline-root", ROOT, "--image", IMAGE]) == 0
    spec = pipeline_spec(output.read_text())
    spec["root"]["dag"]["tasks"]["pusher"]["dependentTasks"].append("no-such-task")
    with KfpStub() as server:
        with pytest.raises(kfp_server_api.ApiException) as refused:
            _upload_and_run(server, spec, tmp_path)
    assert refused.value.status == 400 and "dependent task no-such-task not found" in refused.value.body


def test_submit_reports_a_refused_run_without_a_traceback(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("tests.pipelines.kubeflow.kfp_stub.argo_compile_problem", lambda spec: "quota exceeded")
    with KfpStub() as server:
        code, output = _submit(server, capsys)
    assert code == 1
    assert "refused the request (400" in output.err and "quota exceeded" in output.err
    assert "Traceback" not in output.err
