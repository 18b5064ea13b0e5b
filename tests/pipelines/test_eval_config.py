"""The Evaluator's TFMA config: the spec's gated metric, the reported ones, nothing else."""
from __future__ import annotations

from pipelines.factory import eval_config
from pipelines.spec import load_spec


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
