"""The spec: shipped specs load, mistakes are all reported at once with YAML paths."""
from __future__ import annotations

import inspect

import pytest
import yaml

from pipelines.spec import rules as spec_rules
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import PipelineSpec, load_spec, spec_ids, spec_path

VALID = {
    "id": "my_iris",
    "description": "test",
    "data": {"source": "iris"},
    "transform": {"features": {"sepal_length": "zscore", "petal_width": {"kind": "scale_to_0_1"}}},
    "model": {"name": "iris_softmax", "hparams": {"input_shape": [2]}},
    "training": {"epochs": 3, "optimizer": {"name": "sgd", "learning_rate": 0.1},
                 "loss": "sparse_categorical_crossentropy"},
}


def test_every_shipped_spec_loads_and_matches_its_file_name():
    assert "iris_softmax" in spec_ids()
    for spec_id in spec_ids():
        assert load_spec(spec_id).id == spec_id


def test_iris_spec_holds_the_course_hyperparameters(iris_spec):
    assert iris_spec.training.batch_size == 32
    assert iris_spec.training.epochs == 500
    assert iris_spec.training.optimizer.name == "sgd"
    assert iris_spec.training.optimizer.learning_rate == 0.1
    assert iris_spec.data.split.seed == 116
    assert list(iris_spec.transform.features) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_valid_dict_loads_with_shorthand_transforms():
    spec = PipelineSpec.from_dict(VALID)
    assert spec.transform.features["sepal_length"].kind == "zscore"
    assert spec.transform.features["petal_width"].kind == "scale_to_0_1"


def test_yaml_round_trip(tmp_path, iris_spec):
    path = tmp_path / "iris.yaml"
    path.write_text(iris_spec.to_yaml())
    assert PipelineSpec.from_yaml(path) == iris_spec


def test_several_mistakes_raise_one_error_naming_each(tmp_path):
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["colour"] = "red"                                      # unknown key
    bad["data"]["split"] = {"kind": "shuffle", "eval_fraction": 1.5}  # out of range
    bad["transform"]["features"]["sepal_lenght"] = "zscore"    # unknown feature (a check)
    bad["model"]["name"] = "lenet6"                            # unknown model (a check)
    bad["training"]["optimizer"]["name"] = "sgdd"              # not an allowed value
    bad["kubeflow"] = {"trainer": {"gpus": -1}}                # negative count
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))

    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_yaml(path)

    error = caught.value
    paths = {problem.path for problem in error.problems}
    assert {"colour", "data.split.eval_fraction", "model.name",
            "training.optimizer.name", "kubeflow.trainer.gpus"} <= paths
    # The data section has a mistake of its own, so checks that read it wait for the next try;
    # the model check reads only the model section and still reports.
    message = str(error)
    assert str(path) in message
    assert "unknown key; expected one of: id, description, data" in message
    assert "model 'lenet6' unknown; expected one of: boston_mlp, cifar100_resnet18" in message
    assert "'sgd', 'adam'" in message


def test_unknown_key_in_a_section_lists_that_sections_keys():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["data"]["colour"] = "red"
    with pytest.raises(SpecError, match="data.colour: unknown key; expected one of: source, path, split, options"):
        PipelineSpec.from_dict(bad)


def test_cross_field_checks_run_when_everything_parses():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["transform"]["features"]["sepal_lenght"] = "zscore"
    bad["data"]["source"] = "irs"
    bad["model"]["hparams"] = {"input_shape": [4], "colour": 1}
    bad["evaluation"] = {"metric": "f1"}
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("data.source: data source 'irs' unknown; expected one of: boston_housing,")
               and "iris" in m for m in messages)
    assert any(m.startswith("model.hparams.colour: unknown hyperparameter") for m in messages)
    assert any(m.startswith("evaluation.metric: metric 'f1' unknown") for m in messages)
    assert len(messages) == 3  # the feature check needs a known source: it waits for 'irs' fixed


def test_input_shape_must_match_the_transformed_features():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["model"]["hparams"] = {"input_shape": [4]}
    with pytest.raises(SpecError, match=r"model.hparams.input_shape: expected \[2\]"):
        PipelineSpec.from_dict(bad)


def test_label_cannot_be_transformed():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["transform"]["features"]["species"] = "zscore"
    with pytest.raises(SpecError, match="transform.features.species: 'species' is the label"):
        PipelineSpec.from_dict(bad)


def test_epochs_and_steps_are_exclusive():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["training"]["steps"] = 10
    with pytest.raises(SpecError, match="exactly one of 'epochs' or 'steps'"):
        PipelineSpec.from_dict(bad)


def test_gpu_type_without_gpus_is_rejected():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["kubeflow"] = {"trainer": {"gpus": 0, "gpu_type": "nvidia.com/gpu"}}
    with pytest.raises(SpecError, match="kubeflow.trainer.gpu_type"):
        PipelineSpec.from_dict(bad)


def test_user_builder_by_dotted_path_is_accepted_and_bad_paths_are_not():
    good = yaml.safe_load(yaml.safe_dump(VALID))
    good["model"] = {"name": "tests.modules.user_models:tiny", "hparams": {"input_shape": [2], "units": 3}}
    assert PipelineSpec.from_dict(good).model.name == "tests.modules.user_models:tiny"
    good["model"]["name"] = "tests.modules.user_models:missing"
    with pytest.raises(SpecError, match="model.name: 'tests.modules.user_models' has no callable 'missing'"):
        PipelineSpec.from_dict(good)


def test_unknown_id_names_the_known_ones():
    with pytest.raises(SpecError, match="pipeline 'nope' unknown; expected one of: .*iris_softmax"):
        load_spec("nope")


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(SpecError, match="cannot read the file"):
        PipelineSpec.from_yaml(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        PipelineSpec.from_yaml(broken)


def test_every_check_function_is_registered():
    defined = {
        function for name, function in inspect.getmembers(spec_rules, inspect.isfunction)
        if name.startswith("check_") and function.__module__ == spec_rules.__name__
    }
    registries = [*spec_rules.CHECKS, *spec_rules.KUBEFLOW_CHECKS, *spec_rules.KFP_CHECKS]
    registered = {c.function for c in registries}
    assert defined and defined == registered
    for registered_check in registries:
        assert registered_check.sections <= set(PipelineSpec.model_fields)


def test_spec_path_points_into_the_package():
    assert spec_path("iris_softmax").endswith("pipelines/specs/iris_softmax.yaml")


def test_split_errors_name_the_yaml_path_without_union_tags():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["data"]["split"] = {"kind": "shuffle", "eval_fraction": 1.5, "sed": 1}
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("data.split.eval_fraction: Input should be less than 1") for m in messages)
    assert "data.split.sed: unknown key; expected one of: kind, eval_fraction, seed" in messages


def test_source_options_and_split_are_checked_against_the_source():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["data"]["split"] = {"kind": "given"}
    bad["data"]["options"] = {"window": 4}
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    messages = [str(p) for p in caught.value.problems]
    assert "data.options.window: unknown option for source 'iris'" in messages
    assert any(m.startswith("data.split.kind: source 'iris' has no train/test files of its own") for m in messages)


def test_a_fixed_split_cannot_be_replaced():
    bad = yaml.safe_load(yaml.safe_dump(VALID))
    bad["data"] = {"source": "prices_csv", "split": {"kind": "shuffle"}, "options": {"window": 0}}
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("data.split.kind: source 'prices_csv' splits by itself ('given')") for m in messages)
    assert any(m.startswith("data.options.window: Input should be greater than 0") for m in messages)


def test_checkpoint_monitor_must_be_logged_and_needs_keras_fit():
    bad = load_spec("cifar10_lenet5").model_dump(mode="json")
    bad["training"]["checkpoint"] = {"monitor": "val_accuracy"}
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    assert "training.checkpoint.monitor" in str(caught.value)
    assert "val_sparse_categorical_accuracy" in str(caught.value)  # the names it could watch

    tape = load_spec("iris_tape").model_dump(mode="json")
    tape["training"]["checkpoint"] = {"monitor": "val_loss"}
    tape["training"]["accelerator"] = {"xla": True}
    with pytest.raises(SpecError, match="checkpoint needs style fit"):
        PipelineSpec.from_dict(tape)


def test_image_input_shape_must_match_the_sources_images():
    bad = load_spec("cifar10_lenet5").model_dump(mode="json")
    bad["model"]["hparams"]["input_shape"] = [28, 28, 3]
    with pytest.raises(SpecError, match=r"expected \[32, 32, 3\] \(the shape of cifar10's 'image'\), got \[28, 28, 3\]"):
        PipelineSpec.from_dict(bad)


def _with_validation(validation: dict) -> dict:
    data = yaml.safe_load(yaml.safe_dump(VALID))
    data["validation"] = validation
    return data


def test_warn_on_names_tfdv_anomaly_kinds():
    PipelineSpec.from_dict(_with_validation({"warn_on": ["SCHEMA_NEW_COLUMN"]}))
    with pytest.raises(SpecError, match=r"validation.warn_on.0: 'SCHEMA_NEW_COLUM' is not a TFDV anomaly "
                                        r"kind.*did you mean SCHEMA_NEW_COLUMN"):
        PipelineSpec.from_dict(_with_validation({"warn_on": ["SCHEMA_NEW_COLUM"]}))


def test_curated_schema_must_exist_and_describe_the_sources_features(tmp_path):
    PipelineSpec.from_dict(_with_validation({"schema": "iris_softmax.pbtxt"}))
    with pytest.raises(SpecError, match=r"validation.schema: .*absent.pbtxt: cannot read the schema"):
        PipelineSpec.from_dict(_with_validation({"schema": str(tmp_path / "absent.pbtxt")}))
    digits = _with_validation({"schema": "digits_mlp.pbtxt"})
    with pytest.raises(SpecError, match=r"does not describe the features source 'iris' emits; lacks petal_length"):
        PipelineSpec.from_dict(digits)


def test_threshold_features_must_exist_and_thresholds_be_positive():
    PipelineSpec.from_dict(_with_validation({"drift": {"features": {"petal_width": 0.05}}}))
    with pytest.raises(SpecError, match="validation.drift.features.petal_widht: source 'iris' has no feature 'petal_widht'"):
        PipelineSpec.from_dict(_with_validation({"drift": {"features": {"petal_widht": 0.05}}}))
    with pytest.raises(SpecError, match="validation.skew.jensen_shannon_divergence: Input should be greater than 0"):
        PipelineSpec.from_dict(_with_validation({"skew": {"data": "serving.csv", "jensen_shannon_divergence": -1}}))


def test_validation_round_trips_with_the_yaml_key(tmp_path):
    spec = PipelineSpec.from_dict(_with_validation({"schema": "iris_softmax.pbtxt", "warn_on": ["SCHEMA_NEW_COLUMN"]}))
    assert "schema: iris_softmax.pbtxt" in spec.to_yaml()
    assert PipelineSpec.from_dict(yaml.safe_load(spec.to_yaml())) == spec


TABLE = {
    **VALID,
    "data": {"source": "csv", "path": "pets.csv", "options": {
        "columns": [{"name": "width"}, {"name": "colour", "kind": "string", "missing": "keep"},
                    {"name": "count", "kind": "int"}, {"name": "fare", "missing": "keep"},
                    {"name": "species", "kind": "int"}],
        "label": "species", "num_classes": 3}},
    "transform": {"features": {"width": "zscore", "colour": {"kind": "categorical", "top_k": 5, "fill": ""},
                               "count": {"kind": "bucketize", "num_buckets": 4}, "fare": {"kind": "zscore", "fill": 0}}},
    "model": {"name": "tabular_mlp", "hparams": {"input_shape": [12], "num_classes": 3}},
}


def test_a_table_spec_loads_and_its_model_input_counts_one_hot_widths():
    spec = PipelineSpec.from_dict(yaml.safe_load(yaml.safe_dump(TABLE)))
    assert spec.data.feature_set().features == ("width", "colour", "count", "fare")
    bad = yaml.safe_load(yaml.safe_dump(TABLE))
    bad["model"]["hparams"]["input_shape"] = [4]
    with pytest.raises(SpecError, match=r"model.hparams.input_shape: expected \[12\]"):
        PipelineSpec.from_dict(bad)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda s: s["data"]["options"].pop("columns"),
     "data.options.columns: the csv source reads the columns the spec declares"),
    (lambda s: s["transform"]["features"].update(colour={"kind": "zscore", "fill": 0}),
     "transform.features.colour: 'colour' holds strings; expected kind categorical"),
    (lambda s: s["transform"]["features"].update(width={"kind": "categorical"}),
     "transform.features.width: 'width' holds floats; expected bucketize"),
    (lambda s: s["transform"]["features"]["fare"].pop("fill"),
     "transform.features.fare: 'fare' may be missing (missing: keep); expected a fill value"),
    (lambda s: s["data"]["options"].update(label="nope"),
     "data.options: label: 'nope' is not declared in columns"),
    (lambda s: s["transform"]["features"].update(width={"kind": "date"}),
     "transform.features.width: kind date reads a date column; 'width' is declared kind float"),
    (lambda s: s["data"]["options"]["columns"].__setitem__(0, {"name": "width", "kind": "date"}),
     "transform.features.width: 'width' holds dates; expected kind date, got zscore"),
    (lambda s: s["data"]["options"]["columns"].__setitem__(0, {"name": "width", "date_format": "%d/%m/%Y"}),
     "data.options.columns.0: date_format: only for kind date; column 'width' is float"),
    (lambda s: (s["data"]["options"]["columns"].__setitem__(0, {"name": "width", "kind": "date", "missing": "keep"}),
                s["transform"]["features"].update(width={"kind": "date", "fill": "tomorrow"})),
     "transform.features.width.fill: 'tomorrow' is not a date"),
    (lambda s: (s["data"]["options"]["columns"].__setitem__(0, {"name": "width", "kind": "date"}),
                s["transform"]["features"].update(width={"kind": "date"}),
                s.setdefault("evaluation", {}).update(slices=[{"by": "width"}])),
     "evaluation.slices[0].by: 'width' is a date column: one slice per distinct date"),
    (lambda s: s["transform"]["features"].update(width={"kind": "date", "parts": ["year", "year"]}),
     "transform.features.width: parts: year listed twice; expected each part once"),
])
def test_table_mistakes_name_the_field(change, expected):
    bad = yaml.safe_load(yaml.safe_dump(TABLE))
    change(bad)
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(expected) for m in messages), messages


@pytest.mark.parametrize(("change", "expected"), [
    (lambda s: s["model"].update(name="mnist_mlp", hparams={"input_shape": [28, 28]}),
     "model.name: style gan trains a generator and a discriminator; expected model dcgan"),
    (lambda s: s["evaluation"].update(metric="sparse_categorical_accuracy", upper_bound=None, lower_bound=0.9),
     "evaluation.metric: a generator has no label to score; expected frechet_distance"),
    (lambda s: s["training"].update(loss="binary_crossentropy"),
     "training: loss: expected none for style gan"),
    (lambda s: s["transform"]["features"].update(label="zscore"),
     "transform.features: a generator learns one picture feature"),
    (lambda s: s["training"].update(style="fit", loss="mean_squared_error", sample_every=None),
     "training.style: model dcgan trains by style gan or wgan_gp"),
    (lambda s: s["model"]["hparams"].update(input_shape=[32, 32]),
     "model.hparams: input_shape: expected [64, 64, channels]"),
])
def test_generator_mistakes_name_the_field(change, expected):
    bad = load_spec("mnist_dcgan").model_dump(mode="json")
    change(bad)
    with pytest.raises(SpecError) as caught:
        PipelineSpec.from_dict(bad)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(expected) for m in messages), messages


def test_frechet_distance_gates_generators_only():
    bad = load_spec("iris_softmax").model_dump(mode="json")
    bad["evaluation"] = {"metric": "frechet_distance", "upper_bound": 1.0}
    with pytest.raises(SpecError, match="frechet_distance scores a generator's pictures"):
        PipelineSpec.from_dict(bad)
