"""The Evaluator's TFMA config: the spec's gated metric, the reported ones, nothing else."""
from __future__ import annotations

import pytest
import tensorflow_model_analysis as tfma

from pipelines.factory import eval_config
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import load_spec
from tests.conftest import spec_with


def _metric_names(spec_id: str) -> list[str]:
    config = eval_config(load_spec(spec_id))
    return [metric.class_name for spec in config.metrics_specs for metric in spec.metrics]


def test_the_models_compiled_metrics_are_not_evaluated_against_the_raw_label():
    """cifar100_vgg13 trains on one-hot targets with 100 logits: TFMA's default metrics (the
    compiled loss) would compare them with the raw class index and fail on shapes."""
    config = eval_config(load_spec("cifar100_vgg13"))
    assert config.options.HasField("include_default_metrics")
    assert config.options.include_default_metrics.value is False
    assert _metric_names("cifar100_vgg13") == ["ExampleCount", "SparseCategoricalAccuracy"]


def test_reported_metrics_are_computed_without_thresholds():
    config = eval_config(load_spec("stock_lstm"))
    metrics = {m.class_name: m for s in config.metrics_specs for m in s.metrics}
    assert set(metrics) == {"ExampleCount", "MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError"}
    assert metrics["MeanSquaredError"].HasField("threshold")
    assert not metrics["RootMeanSquaredError"].HasField("threshold")


def test_slices_by_label_and_feature_keep_the_overall_gate_on_the_overall_slice(iris_spec):
    spec = spec_with(iris_spec, evaluation={"lower_bound": 0.5, "slices": [
        {"by": "label", "lower_bound": 0.8}, {"by": "petal_width", "buckets": [0.8]}]})
    config = eval_config(spec)
    assert [list(s.feature_keys) for s in config.slicing_specs] == [[], ["species"], []]
    assert "petal_width" in config.slicing_specs[2].slice_keys_sql
    (gated,) = [m for s in config.metrics_specs for m in s.metrics if m.class_name == "SparseCategoricalAccuracy"]
    assert not gated.HasField("threshold")  # TFMA would apply it to every slice, the baseline comparison too
    overall, per_class = gated.per_slice_thresholds
    assert list(overall.slicing_specs) == [tfma.SlicingSpec()]
    assert overall.threshold.value_threshold.lower_bound.value == 0.5 and overall.threshold.HasField("change_threshold")
    assert [list(s.feature_keys) for s in per_class.slicing_specs] == [["species"]]
    assert per_class.threshold.value_threshold.lower_bound.value == pytest.approx(0.8)
    assert not per_class.threshold.HasField("change_threshold")


def test_a_slice_names_the_label_of_a_classifier_or_a_feature(iris_spec):
    with pytest.raises(SpecError, match=r"evaluation.slices\[0\].by: expected 'label' or a feature of source 'iris' "
                                        r"\(sepal_length, sepal_width, petal_length, petal_width\), got 'petal'"):
        spec_with(iris_spec, evaluation={"slices": [{"by": "petal"}]})
    with pytest.raises(SpecError, match=r"evaluation.slices\[0\].by: slicing by the label needs classes"):
        spec_with(load_spec("boston_mlp"), evaluation={"slices": [{"by": "label"}]})
    with pytest.raises(SpecError, match=r"evaluation.slices\[0\].lower_bound: sparse_categorical_accuracy takes "
                                        r"values in \[0, 1\]"):
        spec_with(iris_spec, evaluation={"slices": [{"by": "label", "lower_bound": 1.5}]})


def test_buckets_slice_a_numeric_feature_by_sql_and_bound_by_its_column(iris_spec):
    spec = spec_with(iris_spec, evaluation={"slices": [{"by": "petal_width", "buckets": [0.8, 1.7], "lower_bound": 0.5}]})
    config = eval_config(spec)
    sql = config.slicing_specs[1].slice_keys_sql
    assert 'WHEN value < 0.8 THEN "< 0.8" WHEN value < 1.7 THEN "[0.8, 1.7)" ELSE ">= 1.7"' in sql
    (gated,) = [m for s in config.metrics_specs for m in s.metrics if m.class_name == "SparseCategoricalAccuracy"]
    assert [list(s.feature_keys) for s in gated.per_slice_thresholds[1].slicing_specs] == [["petal_width"]]
    with pytest.raises(SpecError, match=r"evaluation.slices\[0\].buckets: expected ascending boundaries"):
        spec_with(iris_spec, evaluation={"slices": [{"by": "petal_width", "buckets": [1.7, 0.8]}]})
    with pytest.raises(SpecError, match=r"evaluation.slices\[0\].buckets: buckets need a numeric feature with one "
                                        r"value per example; 'pixels' is not one"):
        spec_with(load_spec("digits_mlp"), evaluation={"slices": [{"by": "pixels", "buckets": [1.0]}]})


def test_a_float_feature_is_sliced_only_into_buckets(iris_spec):
    """One slice per distinct value of a float column would be about one slice per example."""
    with pytest.raises(SpecError, match=r"evaluation.slices\[0\]: 'petal_width' is a float feature: one slice per "
                                        r"distinct value .* give buckets"):
        spec_with(iris_spec, evaluation={"slices": [{"by": "petal_width"}]})
