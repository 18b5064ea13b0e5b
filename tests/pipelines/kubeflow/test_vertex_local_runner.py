"""`coursepipe run-compiled`: a compiled Kubeflow pipeline executed here, step by step.

The fast tests run small compiled pipelines whose steps are tiny Python scripts (the runner's
part: order, executor input, artifacts handed on, resolvers, failures); the slow one runs the
compiled iris pipeline through TFX's own Kubeflow v2 entrypoint, twice.
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from pipelines import cli
from pipelines.kubeflow.compiled import CompiledPipelineError, CompiledStepError, run_parameters, task_order
from pipelines.kubeflow.ledger import ArtifactLedger
from pipelines.kubeflow.vertex_local_runner import CompiledPipelineRunner

# A step: records the executor input it got, writes its outputs and the executor output file
# (metadata `rows` from its parameter), or fails when its second argument says so.
STEP = r"""
import json, os, sys
executor_input = json.loads(sys.argv[1])
if sys.argv[2] == "fail":
    print("the step failed on purpose")
    sys.exit(3)
outputs = executor_input["outputs"]
written = {}
for key, listed in outputs["artifacts"].items():
    artifact = listed["artifacts"][0]
    os.makedirs(artifact["uri"], exist_ok=True)
    with open(os.path.join(artifact["uri"], "executor_input.json"), "w") as handle:
        json.dump(executor_input, handle)
    rows = executor_input["inputs"]["parameterValues"].get("rows", 0)
    written[key] = {"artifacts": [{"name": artifact["name"], "uri": artifact["uri"], "metadata": {"rows": rows}}]}
with open(outputs["outputFile"], "w") as handle:
    json.dump({"artifacts": written}, handle)
"""
EXAMPLES = {"artifactType": {"instanceSchema": "title: tfx.Examples\ntype: object\n"}}
MODEL = {"artifactType": {"schemaTitle": "tfx.Model"}}


def _container(mode: str) -> dict:
    return {"container": {"image": "unused", "command": ["python", "-c", STEP], "args": ["{{$}}", mode]}}


def _job(root: str, consume_mode: str = "ok") -> dict:
    return {
        "runtimeConfig": {"gcsOutputDirectory": root},
        "pipelineSpec": {
            "pipelineInfo": {"name": "tiny"},
            "root": {
                "inputDefinitions": {"parameters": {"rows": {"parameterType": "NUMBER_INTEGER", "defaultValue": 3}}},
                "dag": {"tasks": {
                    "Make": {"componentRef": {"name": "Make"}, "inputs": {"parameters": {
                        "rows": {"componentInputParameter": "rows"},
                        "schema_file": {"runtimeValue": {"constant": "/opt/image/schemas/tiny.pbtxt"}},
                    }}},
                    "Consume": {"componentRef": {"name": "Consume"}, "dependentTasks": ["Make"], "inputs": {
                        "artifacts": {"examples": {"taskOutputArtifact": {
                            "producerTask": "Make", "outputArtifactKey": "examples"}}},
                    }},
                    "previous_model": {"componentRef": {"name": "previous_model"}},
                }},
            },
            "components": {
                "Make": {"executorLabel": "Make_executor",
                         "outputDefinitions": {"artifacts": {"examples": EXAMPLES}}},
                "Consume": {"executorLabel": "Consume_executor",
                            "inputDefinitions": {"artifacts": {"examples": EXAMPLES}},
                            "outputDefinitions": {"artifacts": {"model": MODEL}}},
                "previous_model": {"executorLabel": "previous_model_executor",
                                   "outputDefinitions": {"artifacts": {"model": MODEL}}},
            },
            "deploymentSpec": {"executors": {
                "Make_executor": _container("ok"),
                "Consume_executor": _container(consume_mode),
                "previous_model_executor": {"resolver": {"outputArtifactQueries": {
                    "model": {"filter": 'schema_title="tfx.Model" AND state=LIVE'}}}},
            }},
        },
    }


def _received(uri: str) -> dict:
    with open(os.path.join(uri, "executor_input.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_steps_run_in_order_with_the_executor_input_a_kfp_driver_builds(tmp_path):
    runner = CompiledPipelineRunner(_job(str(tmp_path)), mounts={"/opt/image/schemas": "/here/schemas"},
                                    python=sys.executable)
    run = runner.run({"rows": "7"})
    assert [step.task for step in run.steps] == ["previous_model", "Make", "Consume"]
    (examples_uri,) = run.steps[1].outputs["examples"]
    made = _received(examples_uri)
    assert made["inputs"]["parameterValues"] == {"rows": 7, "schema_file": "/here/schemas/tiny.pbtxt"}
    assert made["outputs"]["outputFile"] == os.path.join(run.run_dir, "Make", "executor_output.json")
    consumed = _received(run.steps[2].outputs["model"][0])
    (given,) = consumed["inputs"]["artifacts"]["examples"]["artifacts"]
    # The producer's executor output (its metadata), typed as the consumer's inputs spec says.
    assert given["uri"] == examples_uri and given["metadata"] == {"rows": 7}
    assert given["type"] == EXAMPLES["artifactType"]
    assert run.steps[0].outputs == {"model": []}  # nothing trained before the first run
    assert run.artifact_metadata("tfx.Model") == [{"rows": 0}]  # Consume's output, as its executor reported


def test_a_second_run_resolves_the_first_runs_artifact_from_the_ledger(tmp_path):
    first = CompiledPipelineRunner(_job(str(tmp_path))).run()
    second = CompiledPipelineRunner(_job(str(tmp_path))).run()
    assert second.steps[0].task == "previous_model"
    assert second.steps[0].outputs["model"] == first.steps[2].outputs["model"]
    previous = _received(second.steps[2].outputs["model"][0])
    assert previous["inputs"]["parameterValues"] == {}  # Consume takes no parameters


def test_a_failing_step_stops_the_run_names_the_step_and_publishes_nothing(tmp_path):
    runner = CompiledPipelineRunner(_job(str(tmp_path), consume_mode="fail"))
    with pytest.raises(CompiledStepError) as failure:
        runner.run()
    assert failure.value.task == "Consume" and failure.value.returncode == 3
    assert "the step failed on purpose" in str(failure.value) and os.path.exists(failure.value.log_path)
    ledger = ArtifactLedger(os.path.join(str(tmp_path), "tiny", "local_metadata.json"))
    assert [record["task"] for record in ledger.records] == ["Make"]


def test_resolver_filters_follow_tfx_compiled_clauses(tmp_path):
    ledger = ArtifactLedger(str(tmp_path / "ledger.json"))
    ledger.add({"name": "m1", "uri": "/m1", "metadata": {}}, "tfx.Model", "Trainer", "r1")
    ledger.add({"name": "m2", "uri": "/m2", "metadata": {}}, "tfx.Model", "Trainer", "r2")
    ledger.add({"name": "b1", "uri": "/b1", "metadata": {"blessed": 1.0, "current_model_id": "m1"}},
               "tfx.ModelBlessing", "Evaluator", "r1")
    ledger.add({"name": "b2", "uri": "/b2", "metadata": {"blessed": 0.0, "current_model_id": "m2"}},
               "tfx.ModelBlessing", "Evaluator", "r2")
    blessed = ledger.latest("r", 'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1')
    assert blessed["name"] == "b1"
    assert ledger.latest("r", 'schema_title="tfx.Model" AND state=LIVE')["name"] == "m2"
    assert ledger.latest("r", 'schema_title="tfx.Model" AND name="m1"')["uri"] == "/m1"
    assert ArtifactLedger(str(tmp_path / "ledger.json")).records == ledger.records  # kept on disk
    with pytest.raises(CompiledPipelineError, match="filter clause 'create_time>1'"):
        ledger.latest("resolver-x", "create_time>1")


def test_bad_compiled_pipelines_and_parameters_are_named(tmp_path):
    job = _job("gs://bucket/root")
    with pytest.raises(CompiledPipelineError, match="gs://bucket/root' is remote; compile with --pipeline-root"):
        CompiledPipelineRunner(job)
    with pytest.raises(CompiledPipelineError, match="unknown pipeline parameter.*epochs; this pipeline has: rows"):
        run_parameters(job, {"epochs": "3"})
    with pytest.raises(CompiledPipelineError, match="rows: expected a whole number, got '2.5'"):
        run_parameters(job, {"rows": "2.5"})
    tasks = {"A": {"dependentTasks": ["B"]}, "B": {"dependentTasks": ["A"]}}
    with pytest.raises(CompiledPipelineError, match="dependency cycle among A, B"):
        task_order(tasks)
    placeholder = _job(str(tmp_path))
    placeholder["pipelineSpec"]["deploymentSpec"]["executors"]["Make_executor"]["container"]["args"] = [
        "{{$.inputs.parameters['rows']}}"]
    with pytest.raises(CompiledPipelineError, match=r"task Make: placeholder .* is not supported"):
        CompiledPipelineRunner(placeholder).run()


def test_cli_reports_steps_and_a_failed_step(tmp_path, capsys):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(_job(str(tmp_path / "root"))))
    assert cli.main(["run-compiled", str(path), "--param", "rows=2"]) == 0
    out = capsys.readouterr().out
    assert "(rows=2): 3 steps" in out and "previous_model" in out and "(resolver: nothing)" in out
    path.write_text(json.dumps(_job(str(tmp_path / "root"), consume_mode="fail")))
    assert cli.main(["run-compiled", str(path)]) == 1
    assert "step Consume exited with status 3" in capsys.readouterr().err
    assert cli.main(["run-compiled", str(path), "--param", "rows"]) == 2
    assert "--param 'rows': expected NAME=VALUE" in capsys.readouterr().err


@pytest.mark.slow
def test_compiled_iris_pipeline_runs_through_tfx_kubeflow_entrypoint(tmp_path, capsys):
    """The iris pipeline as compiled for a cluster, every step through
    `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`: the first run
    trains the spec's 500 epochs, is blessed and pushed; the second (train_epochs=3, a bound of
    0.99) evaluates against the first run's model, which the resolvers find, and pushes nothing."""
    compiled = tmp_path / "iris.json"
    root = tmp_path / "root"
    assert cli.main(["compile", "iris_softmax", "--target", "vertex", "--output", str(compiled), "--pipeline-root", str(root),
                     "--image", "registry.example/course-pipelines:test"]) == 0
    capsys.readouterr()

    assert cli.main(["run-compiled", str(compiled)]) == 0, capsys.readouterr().err
    first = capsys.readouterr().out
    assert "eval_lower_bound=0.9, train_epochs=500" in first and "Pusher" in first
    assert "blessed: yes" in first and f"pushed: {root / 'serving'}" in first
    serving = root / "serving"
    pushed = sorted(os.listdir(serving))
    assert len(pushed) == 1

    assert cli.main(["run-compiled", str(compiled), "--param", "train_epochs=3",
                     "--param", "eval_lower_bound=0.99"]) == 0, capsys.readouterr().err
    second = capsys.readouterr().out
    assert "eval_lower_bound=0.99, train_epochs=3" in second
    assert "blessed: no" in second and "pushed: nothing" in second
    assert sorted(os.listdir(serving)) == pushed  # not blessed: the first model stays the served one

    ledger = ArtifactLedger(str(root / "iris-softmax" / "local_metadata.json"))
    runs = sorted({record["run"] for record in ledger.records})
    assert len(runs) == 2
    blessings = [r for r in ledger.records if r["schemaTitle"] == "tfx.ModelBlessing"]
    assert [b["metadata"]["blessed"] for b in blessings] == [1.0, 0.0]
    first_model = next(r for r in ledger.records if r["schemaTitle"] == "tfx.Model" and r["run"] == runs[0])
    assert blessings[1]["metadata"]["baseline_model_id"] == first_model["name"]
    history_file = os.path.join(root, "iris-softmax", runs[1], "Trainer", "model_run", "history.json")
    with open(history_file, encoding="utf-8") as handle:
        history = json.load(handle)
    assert len(next(iter(history.values()))) == 3


@pytest.mark.slow
def test_a_compiled_pipeline_that_would_fail_on_the_cluster_fails_here_at_the_same_step(tmp_path, capsys):
    """Data compiled in at a path the pods would not find: ExampleGen's pod fails, nothing after it runs."""
    compiled = tmp_path / "iris.json"
    root = tmp_path / "root"
    assert cli.main(["compile", "iris_softmax", "--target", "vertex", "--output", str(compiled), "--pipeline-root", str(root),
                     "--image", "registry.example/course-pipelines:test", "--data-dir", str(tmp_path / "absent")]) == 0
    capsys.readouterr()
    assert cli.main(["run-compiled", str(compiled)]) == 1
    err = capsys.readouterr().err
    assert "step CourseExampleGen exited with status 1" in err
    assert f"iris: no file matches {tmp_path / 'absent' / 'iris.csv'}" in err
    ledger = ArtifactLedger(str(root / "iris-softmax" / "local_metadata.json"))
    assert ledger.records == []
    (run_dir,) = [path for path in (root / "iris-softmax").iterdir() if path.is_dir()]
    assert sorted(path.name for path in run_dir.iterdir()) == ["CourseExampleGen"]
