"""`coursepipe compile --target kubeflow`: a pipeline the open-source KFP 2.x backend accepts.

Every shipped spec is compiled once (module fixture) and read back with the KFP SDK's own
loader; the rules checked are the backend's (only container executors) and the cluster's (no
path of this machine, resources and GPUs where the spec puts them).
"""
from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from kfp import components as kfp_components
from kfp.pipeline_spec import pipeline_spec_pb2

from pipelines import cli
from pipelines.kubeflow.kfp_compiler import beam_args_for_pod, compile_for_kfp
from pipelines.kubeflow.kfp_local_runner import KfpPipelineRunner
from pipelines.names import TRAINER_ID
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import load_spec, spec_ids
from tests.conftest import spec_with
from tests.pipelines.kubeflow.kfp_stub import argo_compile_problem

ROOT = "s3://course-pipelines-test/runs"
DATA = "s3://course-pipelines-test/data"
IMAGE = "registry.example/course-pipelines:test"
GPU_IMAGE = "registry.example/course-pipelines-gpu:test"


def _documents(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(yaml.safe_load_all(handle))


@pytest.fixture(scope="module")
def every_spec(tmp_path_factory):
    """spec id -> (its documents as JSON text, its pipeline spec, its platform spec or None)."""
    directory = tmp_path_factory.mktemp("kfp")
    code = cli.main(["compile", "--all", "--output-dir", str(directory), "--pipeline-root", ROOT, "--image", IMAGE,
                     "--gpu-image", GPU_IMAGE, "--data-dir", DATA])
    assert code == 0
    compiled = {}
    for spec_id in spec_ids():
        path = directory / f"{spec_id}.yaml"
        documents = _documents(path)
        # The text to search: YAML folds long strings (a node's IR) across lines.
        compiled[spec_id] = (json.dumps(documents), documents[0], documents[1] if len(documents) > 1 else None)
    return compiled


def _executors(pipeline: dict) -> dict:
    return pipeline["deploymentSpec"]["executors"]


def _task_executor(pipeline: dict, display_name: str) -> dict:
    for task in pipeline["root"]["dag"]["tasks"].values():
        component = pipeline["components"][task["componentRef"]["name"]]
        if task["taskInfo"]["name"] == display_name or component["executorLabel"].endswith(display_name.lower()):
            return _executors(pipeline)[component["executorLabel"]]
    raise KeyError(display_name)


def test_every_shipped_spec_loads_in_the_kfp_sdk_with_one_task_per_tfx_node(every_spec, tmp_path):
    for spec_id, (_, pipeline, _) in every_spec.items():
        path = tmp_path / f"{spec_id}.yaml"
        path.write_text(yaml.safe_dump(pipeline))
        assert kfp_components.load_component_from_file(str(path)).name == spec_id.replace("_", "-")
        tasks = pipeline["root"]["dag"]["tasks"]
        spec = load_spec(spec_id)
        assert len(tasks) == len(spec.component_ids()) + 1 + spec.validation.drift.enabled, spec_id  # + resolvers


def test_every_executor_is_a_container_the_backend_compiles(every_spec):
    """What the backend's Argo compiler checks (visitor.go): container and importer only."""
    for spec_id, (_, pipeline, _) in every_spec.items():
        assert argo_compile_problem(pipeline) is None, spec_id
        for label, executor in _executors(pipeline).items():
            assert set(executor) == {"container"}, (spec_id, label)
            assert executor["container"]["command"] == ["python", "-m", "pipelines.kubeflow.node_runner"]


def test_no_path_of_this_machine_is_compiled_in(every_spec):
    here = {os.getcwd(), os.path.expanduser("~"), sys.prefix, *site.getsitepackages(), "/tmp/"}
    for spec_id, (text, _, _) in every_spec.items():
        for path in here:
            assert path.rstrip("/") + "/" not in text, (spec_id, path)


def test_shipped_data_and_schemas_are_named_by_package(every_spec):
    iris = every_spec["iris_softmax"][0]
    assert "package://sklearn.datasets/data" in iris and "package://pipelines/schemas/iris_softmax.pbtxt" in iris
    assert f"{DATA}/mnist_mlp" in every_spec["mnist_mlp"][0]


def test_the_run_id_is_the_kfp_run_and_kfp_caching_is_off(every_spec):
    """`{{workflow.uid}}`, which the API server of every 2.x backend replaces by the run's id (KFP's
    `{{$.pipeline_job_uuid}}` reaches the driver's substitution only from 2.5.0)."""
    _, pipeline, _ = every_spec["iris_softmax"]
    for task in pipeline["root"]["dag"]["tasks"].values():
        run_id = task["inputs"]["parameters"]["pipeline_run_id"]
        assert run_id == {"runtimeValue": {"constant": "{{workflow.uid}}"}}
        assert not task.get("cachingOptions", {}).get("enableCache", False)
    for executor in _executors(pipeline).values():
        args = executor["container"]["args"]
        assert args[args.index("--run-id") + 1] == "{{$.inputs.parameters['pipeline_run_id']}}"
        assert args[args.index("--metadata") + 1] == "grpc://metadata-grpc-service.kubeflow:8080"


def test_run_parameters_have_defaults_and_reach_their_steps(every_spec):
    _, pipeline, _ = every_spec["iris_softmax"]
    inputs = pipeline["root"]["inputDefinitions"]["parameters"]
    assert inputs["train_epochs"]["defaultValue"] == 500 and inputs["eval_lower_bound"]["defaultValue"] == 0.9
    assert all(parameter.get("isOptional") for parameter in inputs.values())
    trainer_args = _task_executor(pipeline, TRAINER_ID)["container"]["args"]
    at = trainer_args.index("--parameter")
    assert ["--parameter", "train_epochs", "{{$.inputs.parameters['train_epochs']}}"] == trainer_args[at:at + 3]
    tasks = pipeline["root"]["dag"]["tasks"]
    assert tasks["trainer"]["inputs"]["parameters"]["train_epochs"] == {"componentInputParameter": "train_epochs"}


def test_edges_follow_the_tfx_dag(every_spec):
    _, pipeline, _ = every_spec["iris_softmax"]
    tasks = pipeline["root"]["dag"]["tasks"]
    assert "examplevalidator" in tasks["transform"]["dependentTasks"]
    assert set(tasks["evaluator"]["dependentTasks"]) == {"courseexamplegen", "trainer", "latest-blessed-model-resolver"}
    assert "dependentTasks" not in tasks["courseexamplegen"]


def test_gpu_cpu_memory_node_selector_and_tolerations_land_on_the_right_tasks(iris_spec, tmp_path):
    spec = spec_with(iris_spec, kubeflow={
        "trainer": {"cpu": "4", "memory": "8Gi", "gpus": 2,
                    "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
        "resources": {"default": {"cpu": "1", "memory": "2Gi"}, "Transform": {"cpu": "2", "memory": "6Gi"}},
        "env": {"AWS_ENDPOINT_URL": "http://minio-service.kubeflow:9000"},
        "secret_env": {"AWS_ACCESS_KEY_ID": {"secret": "mlpipeline-minio-artifact", "key": "accesskey"}},
    })
    output = tmp_path / "p.yaml"
    compile_for_kfp(spec, str(output), pipeline_root=ROOT, image=IMAGE, gpu_image=GPU_IMAGE)
    pipeline, platform = _documents(output)
    trainer = _task_executor(pipeline, TRAINER_ID)["container"]
    assert trainer["image"] == GPU_IMAGE
    assert trainer["resources"]["accelerator"] == {"type": "nvidia.com/gpu", "count": "2"}
    assert trainer["resources"]["cpuLimit"] == 4.0
    assert trainer["resources"]["memoryLimit"] == pytest.approx(8 * 1024**3 / 1e9, rel=1e-3)
    transform = _task_executor(pipeline, "Transform")["container"]
    assert transform["resources"]["cpuLimit"] == 2.0 and "accelerator" not in transform["resources"]
    assert transform["image"] == IMAGE
    assert _task_executor(pipeline, "Pusher")["container"]["resources"]["cpuLimit"] == 1.0
    assert {"name": "AWS_ENDPOINT_URL", "value": "http://minio-service.kubeflow:9000"} in transform["env"]
    # The platform spec as KFP defines it, read back through its proto.
    parsed = json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
    executors = json_format.MessageToDict(parsed.platforms["kubernetes"].deployment_spec)["executors"]
    trainer_label = next(label for label, e in _executors(pipeline).items() if e["container"] is trainer)
    assert executors[trainer_label]["nodeSelector"] == {"labels": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}}
    assert executors[trainer_label]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists",
                                                        "effect": "NoSchedule"}]
    assert len(executors) == len(_executors(pipeline))  # the secret goes to every step
    for config in executors.values():
        assert config["secretAsEnv"] == [{"secretName": "mlpipeline-minio-artifact",
                                          "keyToEnv": [{"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"}]}]
    others = [config for label, config in executors.items() if label != trainer_label]
    assert not any("nodeSelector" in config or "tolerations" in config for config in others)
    assert "accesskey" in output.read_text() and "secret" not in json.dumps(pipeline["deploymentSpec"]).lower()


def test_beam_steps_get_one_worker_per_core_of_their_cpu_limit(iris_spec, tmp_path):
    spec = spec_with(iris_spec, kubeflow={"resources": {"StatisticsGen": {"cpu": "3"}}})
    output = tmp_path / "p.yaml"
    compile_for_kfp(spec, str(output), pipeline_root=ROOT, image=IMAGE)
    (pipeline, *_) = _documents(output)
    statistics_ir = _task_executor(pipeline, "StatisticsGen")["container"]["args"][1]
    evaluator_ir = _task_executor(pipeline, "Evaluator")["container"]["args"][1]
    assert "--direct_running_mode=multi_processing" in statistics_ir and "--direct_num_workers=3" in statistics_ir
    assert "--direct_num_workers=1" in evaluator_ir and "multi_processing" not in evaluator_ir
    assert beam_args_for_pod(["--runner=FnApiRunner", "--direct_num_workers=1"], 2.5) == [
        "--runner=FnApiRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert beam_args_for_pod(["--runner=DataflowRunner"], 4) == ["--runner=DataflowRunner"]


def test_a_source_of_files_needs_a_data_dir_the_pods_can_read(capsys, tmp_path):
    code = cli.main(["compile", "mnist_mlp", "--output", str(tmp_path / "p.yaml"), "--pipeline-root", ROOT,
                     "--image", IMAGE])
    err = capsys.readouterr().err
    assert code == 2 and "data.path: the mnist source reads files that no image ships; give --data-dir URI" in err
    assert "Traceback" not in err and not (tmp_path / "p.yaml").exists()


def test_a_gpu_type_must_be_a_kubernetes_resource_name(iris_spec, tmp_path):
    spec = spec_with(iris_spec, kubeflow={"trainer": {"gpus": 1, "gpu_type": "nvidia-tesla-t4"}})
    with pytest.raises(SpecError, match="kubeflow.trainer.gpu_type: expected a Kubernetes resource name such as "
                                        "nvidia.com/gpu, got 'nvidia-tesla-t4'"):
        compile_for_kfp(spec, str(tmp_path / "p.yaml"), pipeline_root=ROOT, image=IMAGE, gpu_image=GPU_IMAGE)


def test_a_remote_beam_runner_must_run_the_project_image(iris_spec, tmp_path):
    spec = spec_with(iris_spec, beam={"args": ["--runner=DataflowRunner", "--project=p", "--region=r"]})
    with pytest.raises(SpecError, match=f"beam.args: --runner=DataflowRunner starts Beam workers from "
                                        f"--sdk_container_image; expected --sdk_container_image={IMAGE}"):
        compile_for_kfp(spec, str(tmp_path / "p.yaml"), pipeline_root=ROOT, image=IMAGE)
    good = spec_with(iris_spec, beam={"args": ["--runner=DataflowRunner", f"--sdk_container_image={IMAGE}"]})
    compile_for_kfp(good, str(tmp_path / "p.yaml"), pipeline_root=ROOT, image=IMAGE)


@pytest.mark.parametrize("uri, expected", [
    ("mysql://db.kubeflow:3306", "expected mysql://HOST:PORT/DATABASE"),
    ("mysql://user:secret@db:3306/mlmd", "credentials do not go in the URI"),
    ("http://metadata:8080", "expected grpc://HOST:PORT, mysql://HOST:PORT/DATABASE or sqlite:///ABSOLUTE/PATH"),
])
def test_a_bad_metadata_address_is_a_usage_error(capsys, tmp_path, uri, expected):
    code = cli.main(["compile", "iris_softmax", "--output", str(tmp_path / "p.yaml"), "--pipeline-root", ROOT,
                     "--image", IMAGE, "--metadata", uri])
    err = capsys.readouterr().err
    assert code == 2 and "kubeflow.metadata: --metadata:" in err and expected in err


def test_the_local_runner_reads_the_metadata_address_back(tmp_path, iris_spec):
    output = tmp_path / "p.yaml"
    compile_for_kfp(iris_spec, str(output), pipeline_root=str(tmp_path / "root"), image=IMAGE,
                    metadata=f"sqlite://{tmp_path}/root/metadata.sqlite")
    runner = KfpPipelineRunner(_documents(output)[0])
    assert runner.metadata_address().database == f"{tmp_path}/root/metadata.sqlite"


def test_warm_start_and_tuning_compile_for_both_targets(iris_spec, tmp_path):
    """The warm-start resolver feeds the Trainer; the Tuner sits between Transform and Trainer."""
    from pipelines.kubeflow.vertex_compiler import compile_for_vertex
    from pipelines.spec.pipeline_spec import PipelineSpec

    data = spec_with(iris_spec, training={"warm_start": True}).model_dump(mode="json")
    data["tuning"] = {"objective": "val_loss", "trials": 2, "epochs_per_trial": 2,
                      "space": {"learning_rate": {"kind": "float", "min": 0.01, "max": 0.5, "log": True}}}
    spec = PipelineSpec.from_dict(data)
    compile_for_kfp(spec, str(tmp_path / "p.yaml"), pipeline_root=ROOT, image=IMAGE)
    tasks = _documents(tmp_path / "p.yaml")[0]["root"]["dag"]["tasks"]
    assert {"warm-start-model-resolver", "tuner"} <= set(tasks["trainer"]["dependentTasks"])
    assert "transform" in tasks["tuner"]["dependentTasks"]
    vertex = compile_for_vertex(spec, str(tmp_path / "p.json"), pipeline_root=ROOT, image=IMAGE)
    vertex_tasks = vertex["pipelineSpec"]["root"]["dag"]["tasks"]
    trainer_inputs = vertex_tasks["Trainer"]["inputs"]["artifacts"]
    assert {"base_model", "hyperparameters"} <= set(trainer_inputs) and "Tuner" in vertex_tasks


def test_kfps_own_pipeline_root_is_left_to_the_installation_and_tfxs_is_in_every_node(every_spec):
    """From 2.5.0 KFP's launcher uploads each task's executor-logs to KFP's pipeline root with its
    own S3 settings; a root of ours there (a MinIO bucket by its s3:// name) would fail every task."""
    text, pipeline, _ = every_spec["iris_softmax"]
    assert "defaultPipelineRoot" not in pipeline
    for executor in _executors(pipeline).values():
        assert ROOT in executor["container"]["args"][1]  # the node's IR


def test_every_step_but_the_pusher_is_retried_with_a_doubling_backoff(every_spec):
    _, pipeline, _ = every_spec["iris_softmax"]
    tasks = pipeline["root"]["dag"]["tasks"]
    assert "retryPolicy" not in tasks["pusher"]
    for name, task in tasks.items():
        if name != "pusher":
            assert task["retryPolicy"] == {"maxRetryCount": 2, "backoffDuration": "30s", "backoffFactor": 2.0,
                                          "backoffMaxDuration": "3600s"}, name


def _compile_cli(capsys, tmp_path, *options: str) -> tuple[int, str, str, Path]:
    """`coursepipe compile iris_softmax` with `options`: exit code, stdout, stderr, the output file."""
    output = tmp_path / "p.yaml"
    code = cli.main(["compile", "iris_softmax", "--output", str(output), "--image", IMAGE, *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, output


def test_environment_secrets_and_retries_from_the_command_line_reach_the_steps(tmp_path, capsys):
    code, out, err, output = _compile_cli(
        capsys, tmp_path, "--pipeline-root", ROOT, "--env", "S3_ENDPOINT=http://seaweedfs.kubeflow:8333",
        "--env", "AWS_ENDPOINT_URL=http://seaweedfs.kubeflow:8333",
        "--secret-env", "AWS_ACCESS_KEY_ID=mlpipeline-minio-artifact:accesskey",
        "--secret-env", "AWS_SECRET_ACCESS_KEY=mlpipeline-minio-artifact:secretkey",
        "--retries", "1", "--retries", "Pusher=3", "--retries", "Trainer=0")
    assert code == 0, err
    assert "warning" not in err and (out + err).count(str(output)) == 1  # the "written" line, once
    pipeline, platform = _documents(output)
    transform = _task_executor(pipeline, "Transform")["container"]
    assert {"name": "S3_ENDPOINT", "value": "http://seaweedfs.kubeflow:8333"} in transform["env"]
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for config in executors.values():
        assert config["secretAsEnv"] == [{"secretName": "mlpipeline-minio-artifact", "keyToEnv": [
            {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"},
            {"secretKey": "secretkey", "envVar": "AWS_SECRET_ACCESS_KEY"}]}]
    tasks = pipeline["root"]["dag"]["tasks"]
    assert tasks["pusher"]["retryPolicy"]["maxRetryCount"] == 3 and "retryPolicy" not in tasks["trainer"]
    assert tasks["transform"]["retryPolicy"]["maxRetryCount"] == 1


def test_an_s3_root_without_endpoint_or_credentials_is_warned_of(tmp_path, capsys):
    code, _, err, _ = _compile_cli(capsys, tmp_path, "--pipeline-root", ROOT)
    assert code == 0
    assert "warning: iris_softmax: an s3:// location without S3_ENDPOINT and AWS_ENDPOINT_URL" in err
    assert "warning: iris_softmax: an s3:// location without credentials" in err
    code, _, err, _ = _compile_cli(capsys, tmp_path, "--pipeline-root", "gs://bucket/root")
    assert code == 0 and "warning" not in err


@pytest.mark.parametrize("options, expected", [
    (["--pipeline-root", "http://x"], "kubeflow.pipeline_root: (or --pipeline-root) expected gs://BUCKET/PATH, "
     "s3://BUCKET/PATH or an absolute path every pod mounts, got 'http://x' (no pod reads or writes that scheme)"),
    (["--pipeline-root", "runs/root"], "got the relative path 'runs/root'"),
    (["--pipeline-root", "s3://"], "expected a bucket in 's3://'"),
    (["--pipeline-root", ROOT, "--data-dir", "data/iris"],
     "data.path: (--data-dir) expected gs://BUCKET/PATH, s3://BUCKET/PATH or an absolute path every pod mounts, "
     "got the relative path 'data/iris'"),
    (["--pipeline-root", ROOT, "--env", "S3_ENDPOINT=minio-service.kubeflow:9000"],
     "kubeflow.env.S3_ENDPOINT: S3_ENDPOINT='minio-service.kubeflow:9000': expected the endpoint with its scheme, "
     "e.g. http://minio-service.kubeflow:9000"),
    (["--pipeline-root", ROOT, "--secret-env", "AWS_ACCESS_KEY_ID=accesskey"], "--secret-env: expected NAME=SECRET:KEY"),
    (["--pipeline-root", ROOT, "--retries", "Pusher=-1"], "--retries 'Pusher=-1': expected N or COMPONENT=N"),
    (["--pipeline-root", ROOT, "--retries", "Trainr=1"], "kubeflow.retries.Trainr: unknown component 'Trainr'"),
])
def test_what_no_pod_can_use_is_refused_naming_the_option(tmp_path, capsys, options, expected):
    code, out, err, output = _compile_cli(capsys, tmp_path, *options)
    assert code == 2 and expected in err, err
    assert "Traceback" not in err and not output.exists()


def test_a_refused_metadata_address_never_repeats_its_password(tmp_path, capsys):
    code, _, err, _ = _compile_cli(capsys, tmp_path, "--pipeline-root", ROOT, "--metadata", "mysql://ml:hunter2@db:3306/mlmd")
    assert code == 2 and "credentials do not go in the URI" in err and "hunter2" not in err


def test_the_steps_declare_what_the_kfp_ui_shows(every_spec):
    """system.Metrics and HTML / Markdown outputs, written through the launcher's placeholders."""
    _, pipeline, _ = every_spec["iris_softmax"]
    declared = {name: {output: spec["artifactType"]["schemaTitle"]
                       for output, spec in component.get("outputDefinitions", {}).get("artifacts", {}).items()}
                for name, component in pipeline["components"].items()}
    assert declared["comp-evaluator"] == {"metrics": "system.Metrics", "view": "system.HTML"}
    assert declared["comp-statisticsgen"] == {"metrics": "system.Metrics", "view": "system.HTML"}
    assert declared["comp-trainer"] == {"view": "system.HTML"}
    assert declared["comp-pusher"] == {"metrics": "system.Metrics", "view": "system.Markdown"}
    assert declared["comp-latest-blessed-model-resolver"] == {} and declared["comp-transform"] == {}
    evaluator = _task_executor(pipeline, "Evaluator")["container"]["args"]
    assert ["--kfp-output", "view", "{{$.outputs.artifacts['view'].path}}"] == evaluator[-7:-4]
    assert evaluator[-4:] == ["--kfp-executor-input", "{{$}}", "--gate-metric", "sparse_categorical_accuracy"]


def test_compile_says_where_it_wrote_once(tmp_path):
    """In its own process, as a user runs it (the CLI's log handler writes to the real stderr)."""
    output = tmp_path / "iris.yaml"
    completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), "coursepipe"), "compile", "iris_softmax",
                                "--output", str(output), "--pipeline-root", "gs://bucket/root", "--image", IMAGE],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count(str(output)) == 1 and str(output) not in completed.stderr
