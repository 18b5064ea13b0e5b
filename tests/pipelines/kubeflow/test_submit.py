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


TOKEN = "token-of-team-a"  # what a profile's service account token stands for


def _token_file(tmp_path) -> str:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return str(path)


def test_a_multi_user_submit_runs_in_the_profile_namespace_with_the_bearer_token(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub(tokens={TOKEN: {"team-a"}}) as server:
        code, output = _submit(server, capsys, "--namespace", "team-a", "--token-file", _token_file(tmp_path))
        state = server.state
    assert code == 0, output.err
    (experiment,) = state.experiments.values()
    assert experiment["namespace"] == "team-a"
    (run,) = state.runs
    assert run["namespace"] == "team-a" and run["experiment_id"] == experiment["experiment_id"]
    assert "(namespace team-a)" in output.out
    assert TOKEN not in output.out + output.err


@pytest.mark.parametrize("environment, options, expected", [
    ({}, ["--namespace", "team-a"], "there is no user identity header"),
    ({"COURSEPIPE_KFP_TOKEN": "a-token-nobody-issued"}, ["--namespace", "team-a"], "Failed to review the token"),
    ({"COURSEPIPE_KFP_TOKEN": TOKEN}, ["--namespace", "team-b"], "(403 Forbidden)"),
])
def test_the_stand_in_refuses_what_a_multi_user_kubeflow_refuses(capsys, monkeypatch, tmp_path, environment,
                                                                  options, expected):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KF_PIPELINES_SA_TOKEN_PATH", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with KfpStub(tokens={TOKEN: {"team-a"}}) as server:
        code, output = _submit(server, capsys, *options)
        state = server.state
    assert code == 1 and expected in output.err and "Traceback" not in output.err
    assert not state.runs


def test_the_token_may_come_from_the_environment_and_a_namespace_is_required(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", _token_file(tmp_path))
    with KfpStub(tokens={TOKEN: {"team-a"}}) as server:
        missing_namespace = _submit(server, capsys)
        code, output = _submit(server, capsys, "--namespace", "team-a")
        runs = list(server.state.runs)
    assert missing_namespace[0] == 2 and "is a multi-user Kubeflow: give --namespace" in missing_namespace[1].err
    assert code == 0, output.err
    assert len(runs) == 1


def test_an_unreadable_token_file_is_refused_before_anything_is_compiled(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        code, output = _submit(server, capsys, "--token-file", str(tmp_path / "missing"))
        requests = list(server.state.requests)
    assert code == 2 and f"--token-file: cannot read {tmp_path / 'missing'}" in output.err
    assert requests == []


@pytest.mark.parametrize("outcome, code", [("SUCCEEDED", 0), ("FAILED", 1)])
def test_wait_follows_each_step_and_exits_by_the_final_state(capsys, monkeypatch, tmp_path, outcome, code):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        server.state.run_outcome = outcome
        result, output = _submit(server, capsys, "--wait", "--poll-seconds", "0")
    assert result == code, output.err
    lines = output.out.splitlines()
    assert any(line.split() == ["Trainer", "RUNNING"] for line in lines)
    assert any(line.split() == ["Trainer", "SUCCEEDED"] for line in lines)
    assert lines[-2].split()[-1] == outcome  # the last step the server reported
    assert lines[-1] == f"run run-1: {outcome}"


def test_a_recurring_run_on_kfps_cron_or_an_interval(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        daily = _submit(server, capsys, "--cron", "0 0 2 * * *", "--param", "train_epochs=50")
        hourly = _submit(server, capsys, "--every", "6h", "--version-name", "nightly-v2")
        state = server.state
    assert daily[0] == 0 and hourly[0] == 0, daily[1].err + hourly[1].err
    first, second = state.recurring_runs
    assert first["trigger"]["cron_schedule"]["cron"] == "0 0 2 * * *"
    assert first["runtime_config"]["parameters"]["train_epochs"] == 50
    assert int(second["trigger"]["periodic_schedule"]["interval_second"]) == 6 * 3600
    assert state.versions["pipeline-1"][-1]["display_name"] == "nightly-v2"
    assert "recurring run recurring-1: cron '0 0 2 * * *'" in daily[1].out and not state.runs


@pytest.mark.parametrize("options, expected", [
    (["--cron", "0 2 * * *"], "--cron: '0 2 * * *' has five fields; KFP's cron has six, seconds first"),
    (["--cron", "0 0 2 * * * 2027"], "--cron: expected six fields"),
    (["--every", "soon"], "--every: expected a duration such as 30m, 6h or 1d"),
    (["--cron", "@daily", "--wait"], "--wait: follows one run"),
])
def test_a_schedule_kfp_would_misread_or_refuse_is_a_usage_error(capsys, monkeypatch, tmp_path, options, expected):
    monkeypatch.setenv("HOME", str(tmp_path))
    with KfpStub() as server:
        code, output = _submit(server, capsys, *options)
        requests = list(server.state.requests)
    assert code == 2 and expected in output.err and requests == []


def test_the_stand_in_refuses_a_cron_robfig_cron_does_not_parse(monkeypatch, tmp_path, iris_spec):
    """The API server parses the schedule with robfig/cron v1 (5 or 6 fields, or a descriptor)."""
    from pipelines.kubeflow.kfp_compiler import compile_for_kfp

    monkeypatch.setenv("HOME", str(tmp_path))
    package = str(tmp_path / "iris.yaml")
    compile_for_kfp(iris_spec, package, pipeline_root=ROOT, image=IMAGE)
    with KfpStub() as server:
        client = kfp.Client(host=server.url)
        pipeline_id = client.upload_pipeline(package, pipeline_name="iris-softmax").pipeline_id
        version_id = client.list_pipeline_versions(pipeline_id).pipeline_versions[0].pipeline_version_id
        experiment_id = client.create_experiment("course").experiment_id
        with pytest.raises(kfp_server_api.ApiException, match="Expected 5 to 6 fields, found 7"):
            client.create_recurring_run(experiment_id, "r", cron_expression="0 0 2 * * * 2027",
                                        pipeline_id=pipeline_id, version_id=version_id)
        with pytest.raises(kfp_server_api.ApiException, match="Max concurrency of a recurring run must be at least 1"):
            client.create_recurring_run(experiment_id, "r", interval_second=60, max_concurrency=11,
                                        pipeline_id=pipeline_id, version_id=version_id)
