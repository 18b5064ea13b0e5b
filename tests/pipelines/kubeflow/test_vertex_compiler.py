"""Kubeflow compile: the JSON holds the pipeline, the GPU lands on the Trainer only, KFP loads it."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from kfp import components as kfp_components

from pipelines.kubeflow.resources import cpu_cores, memory_gb
from pipelines.kubeflow.vertex_compiler import compile_for_vertex
from pipelines.names import PREPROCESSING_FN, RUN_FN
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import load_spec, spec_ids
from tests.conftest import spec_with

ROOT = "gs://course-pipelines-test/root"
IMAGE = "registry.example/course-pipelines:test"
GPU_IMAGE = "registry.example/course-pipelines-gpu:test"
# The shipped specs whose Trainer asks for a GPU: the CIFAR networks and the GANs.
GPU_SPECS = [spec_id for spec_id in spec_ids() if load_spec(spec_id, heavy_rules=False).kubeflow.trainer.gpus]


def _compile(spec, tmp_path, **kwargs):
    output = tmp_path / "pipeline.json"
    kwargs.setdefault("gpu_image", GPU_IMAGE)
    compiled = compile_for_vertex(spec, str(output), pipeline_root=ROOT, image=IMAGE, **kwargs)
    return compiled, output


def _containers(compiled):
    return compiled["pipelineSpec"]["deploymentSpec"]["executors"]


def test_compiled_json_holds_the_eight_components(iris_spec, tmp_path):
    compiled, output = _compile(iris_spec, tmp_path)
    tasks = compiled["pipelineSpec"]["root"]["dag"]["tasks"]
    for component_id in iris_spec.component_ids():
        assert component_id in tasks
    assert compiled["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    containers = _containers(compiled)
    assert containers["Trainer_executor"]["container"]["image"] == IMAGE
    # Modules by dotted path: nothing is packaged into (or read from) the pipeline root.
    parameters = {
        task: compiled["pipelineSpec"]["root"]["dag"]["tasks"][task]["inputs"]["parameters"]
        for task in ("Transform", "Trainer")
    }
    assert parameters["Trainer"]["run_fn"]["runtimeValue"]["constant"] == RUN_FN
    assert parameters["Transform"]["preprocessing_fn"]["runtimeValue"]["constant"] == PREPROCESSING_FN
    assert "module_file" not in parameters["Trainer"] and "module_file" not in parameters["Transform"]
    assert "module_path" not in json.dumps(compiled)


def test_gpu_request_lands_on_the_trainer_only(iris_spec, tmp_path):
    spec = spec_with(iris_spec, kubeflow={"trainer": {"gpus": 1, "cpu": "4", "memory": "16Gi"}})
    compiled, _ = _compile(spec, tmp_path)
    containers = _containers(compiled)
    trainer = containers["Trainer_executor"]["container"]["resources"]
    assert trainer["accelerator"] == {"type": "nvidia.com/gpu", "count": "1"}
    assert trainer["cpuLimit"] == 4.0
    assert trainer["memoryLimit"] == pytest.approx(17.179869184)
    for name, executor in containers.items():
        if name != "Trainer_executor" and "container" in executor:
            assert "accelerator" not in executor["container"].get("resources", {}), name


def test_the_cifar_and_gan_specs_ask_for_a_gpu_trainer():
    assert {s for s in spec_ids() if s.startswith("cifar") or "gan" in s} == set(GPU_SPECS)


@pytest.mark.parametrize("spec_id", GPU_SPECS)
def test_gpu_trainers_request_a_gpu_and_run_the_gpu_image(spec_id, tmp_path):
    compiled, _ = _compile(load_spec(spec_id), tmp_path)
    containers = _containers(compiled)
    trainer = containers["Trainer_executor"]["container"]
    assert trainer["resources"]["accelerator"] == {"type": "nvidia.com/gpu", "count": "1"}
    assert trainer["image"] == GPU_IMAGE
    others = {name: executor["container"]["image"] for name, executor in containers.items()
              if name != "Trainer_executor" and "container" in executor}
    assert others and set(others.values()) == {IMAGE}


def test_a_gpu_trainer_without_a_gpu_image_is_refused(tmp_path):
    with pytest.raises(SpecError) as caught:
        _compile(load_spec("cifar10_lenet5"), tmp_path, gpu_image=None)
    assert [p.path for p in caught.value.problems] == ["kubeflow.gpu_image"]
    assert "requests 1 GPU" in str(caught.value)


def test_no_gpu_requested_by_default(iris_spec, tmp_path):
    compiled, _ = _compile(iris_spec, tmp_path)
    assert "accelerator" not in _containers(compiled)["Trainer_executor"]["container"].get("resources", {})


def test_kfp_sdk_loads_the_compiled_pipeline_spec(iris_spec, tmp_path):
    compiled, _ = _compile(iris_spec, tmp_path)
    pipeline_spec_file = tmp_path / "pipeline_spec.json"
    pipeline_spec_file.write_text(json.dumps(compiled["pipelineSpec"]))
    component = kfp_components.load_component_from_file(str(pipeline_spec_file))
    assert component.name == "iris-softmax"


def test_compiling_needs_an_image_and_a_root(iris_spec, tmp_path):
    with pytest.raises(SpecError) as caught:
        compile_for_vertex(iris_spec, str(tmp_path / "p.json"))
    assert {p.path for p in caught.value.problems} == {"kubeflow.image", "kubeflow.pipeline_root"}


def test_resource_quantities():
    assert cpu_cores("500m") == 0.5 and cpu_cores("2") == 2.0
    assert memory_gb("4G") == 4.0 and memory_gb("512Mi") == pytest.approx(0.536870912)


@pytest.mark.parametrize("spec_id", spec_ids())
def test_every_shipped_spec_compiles_and_loads_in_the_kfp_sdk(spec_id, tmp_path):
    """Remote data and roots are never touched: the data URI is compiled in as given."""
    compiled, _ = _compile(load_spec(spec_id), tmp_path, data_path="gs://course-pipelines-test/data")
    pipeline_spec_file = tmp_path / "pipeline_spec.json"
    pipeline_spec_file.write_text(json.dumps(compiled["pipelineSpec"]))
    assert kfp_components.load_component_from_file(str(pipeline_spec_file)).name == spec_id.replace("_", "-")
    example_gen_inputs = json.dumps(compiled["pipelineSpec"]["root"]["dag"]["tasks"]["CourseExampleGen"]["inputs"])
    if load_spec(spec_id).data.source not in ("dot", "yogurt", "letters"):  # generated: read no files
        assert '"constant": "gs://course-pipelines-test/data"' in example_gen_inputs


def test_curated_schema_is_imported_from_the_image_and_drift_resolves_the_latest_statistics(iris_spec, tmp_path):
    spec = spec_with(iris_spec, validation={"schema": "iris_softmax.pbtxt"})
    compiled, _ = _compile(spec, tmp_path)
    tasks = compiled["pipelineSpec"]["root"]["dag"]["tasks"]
    assert "ImportSchemaGen" in tasks and "SchemaGen" not in tasks
    schema_file = tasks["ImportSchemaGen"]["inputs"]["parameters"]["schema_file"]["runtimeValue"]["constant"]
    assert schema_file == "/opt/course-pipelines/pipelines/schemas/iris_softmax.pbtxt"
    assert "previous_statistics_resolver" in json.dumps(compiled)
    assert "Transform" in tasks and "ExampleValidator" in tasks["Transform"]["dependentTasks"]


def test_beam_steps_name_the_sdk_image_so_tfx_builds_no_source_package(iris_spec, tmp_path):
    from pipelines.factory import beam_args_for_local_workers

    args = beam_args_for_local_workers(list(iris_spec.beam.args))
    assert args[:-1] == list(iris_spec.beam.args)
    assert args[-1].startswith("--sdk_container_image=apache/beam_python3.10_sdk:")
    assert beam_args_for_local_workers(["--requirements_file=r.txt"]) == ["--requirements_file=r.txt"]
    compiled, _ = _compile(iris_spec, tmp_path)
    assert "--sdk_container_image=apache/beam_python3.10_sdk:" in json.dumps(compiled)


def test_cpu_and_memory_land_on_every_component_as_the_spec_says(iris_spec, tmp_path):
    spec = spec_with(iris_spec, kubeflow={
        "trainer": {"cpu": "4", "memory": "8Gi", "gpus": 1, "gpu_type": "nvidia-tesla-t4"},
        "resources": {"default": {"cpu": "1", "memory": "2Gi"}, "Transform": {"cpu": "2", "memory": "6Gi"}},
    })
    containers = _containers(_compile(spec, tmp_path)[0])
    limits = {name.removesuffix("_executor"): executor["container"].get("resources", {})
              for name, executor in containers.items() if "container" in executor}
    assert limits["Transform"]["cpuLimit"] == 2.0
    assert limits["Transform"]["memoryLimit"] == pytest.approx(6 * 1024**3 / 1e9)
    assert limits["Trainer"]["cpuLimit"] == 4.0
    assert limits["Trainer"]["accelerator"] == {"type": "nvidia-tesla-t4", "count": "1"}
    for name in ("StatisticsGen", "ImportSchemaGen", "ExampleValidator", "Evaluator", "Pusher"):
        assert limits[name]["cpuLimit"] == 1.0 and "accelerator" not in limits[name], name


def test_resources_must_name_components_of_the_pipeline(iris_spec):
    with pytest.raises(SpecError) as error:
        spec_with(iris_spec, kubeflow={"resources": {"Transfrom": {"cpu": "2"}, "Trainer": {"cpu": "2"}}})
    message = str(error.value)
    assert "kubeflow.resources.Transfrom: unknown component 'Transfrom'; expected default or one of:" in message
    assert "kubeflow.resources.Trainer: the Trainer's cpu and memory go under kubeflow.trainer" in message
    with pytest.raises(SpecError, match="kubeflow.trainer.gpus: Input should be greater than or equal to 0"):
        spec_with(iris_spec, kubeflow={"trainer": {"gpus": -1}})


REFERENCE = Path(__file__).parent / "reference" / "iris_softmax.json"


def _stable(compiled: dict) -> dict:
    """The compiled JSON without what changes with the installed versions, not with the pipeline:
    TFX's version labels and SDK version, Beam's version in the SDK image tag, and the fingerprints
    of the modules' code (pipelines.runs.code_fingerprint), which change with every edit of `modules/`."""
    text = re.sub(r"(apache/beam_python[0-9.]+_sdk):[0-9A-Za-z.]+", r"\1:VERSION", json.dumps(compiled))
    text = re.sub(r"(code_fingerprint[^0-9a-f]{1,12})[0-9a-f]{64}", r"\1FINGERPRINT", text)
    stable = json.loads(text)
    stable.pop("labels", None)
    stable["pipelineSpec"].pop("sdkVersion", None)
    return stable


def test_compiled_iris_pipeline_matches_the_reference_json(iris_spec, tmp_path):
    """What a cluster receives for iris_softmax, field by field. After an intended change,
    regenerate: UPDATE_REFERENCE=1 pytest tests/pipelines/kubeflow/test_vertex_compiler.py -k reference."""
    compiled, _ = _compile(iris_spec, tmp_path, data_path="gs://course-pipelines-test/data/iris")
    stable = _stable(compiled)
    if os.environ.get("UPDATE_REFERENCE"):
        REFERENCE.write_text(json.dumps(stable, indent=1, sort_keys=True) + "\n")
    assert stable == json.loads(REFERENCE.read_text())


def test_training_length_and_metric_bound_are_pipeline_parameters_with_the_specs_defaults(iris_spec, tmp_path):
    compiled, _ = _compile(iris_spec, tmp_path)
    spec = compiled["pipelineSpec"]
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert inputs["train_epochs"]["parameterType"] == "NUMBER_INTEGER" and inputs["train_epochs"]["defaultValue"] == 500
    assert inputs["eval_lower_bound"]["parameterType"] == "NUMBER_DOUBLE"
    assert inputs["eval_lower_bound"]["defaultValue"] == iris_spec.evaluation.lower_bound
    assert set(inputs) == {"train_epochs", "eval_lower_bound"}
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["Trainer"]["inputs"]["parameters"]["train_epochs"] == {"componentInputParameter": "train_epochs"}
    assert tasks["Evaluator"]["inputs"]["parameters"]["eval_lower_bound"] == {"componentInputParameter": "eval_lower_bound"}
    executors = _containers(compiled)
    assert "components.tunable.TunableTrainerExecutor" in executors["Trainer_executor"]["container"]["args"]
    assert "components.tunable.TunableEvaluatorExecutor" in executors["Evaluator_executor"]["container"]["args"]
    # Schema 2.1: every step gets its inputs spec, so the entrypoint reads `parameterValues`.
    assert spec["schemaVersion"] == "2.1.0"
    assert all("--json_serialized_inputs_spec_args" in executor["container"]["args"]
               for executor in executors.values() if "container" in executor)


def test_a_spec_counting_steps_gets_train_steps_and_one_without_bounds_no_bound_parameter(iris_spec, tmp_path):
    spec = spec_with(iris_spec, training={"epochs": None, "steps": 40},
                     evaluation={"lower_bound": None, "upper_bound": 0.99})
    compiled, _ = _compile(spec, tmp_path)
    inputs = compiled["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]
    assert set(inputs) == {"train_steps", "eval_upper_bound"}
    assert inputs["train_steps"]["defaultValue"] == 40 and inputs["eval_upper_bound"]["defaultValue"] == 0.99
    unbounded, _ = _compile(load_spec("stock_gru"), tmp_path)  # regression: gated on no regression only
    assert set(unbounded["pipelineSpec"]["root"]["inputDefinitions"]["parameters"]) == {"train_epochs"}
