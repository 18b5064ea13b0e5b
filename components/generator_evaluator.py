"""The Evaluator of a generative pipeline: sample quality instead of TFMA's accuracy.

TFMA scores a model's predictions against labels; a GAN's generator predicts nothing about an
example. This component keeps the Evaluator's contract (the same spec, inputs and outputs, so the
baseline resolver, the Pusher, Kubeflow's compiler and `coursepipe runs/report` treat it as the
Evaluator) and computes `components.sample_quality`'s Fréchet distance between the eval split's
real pictures and as many pictures the candidate generator draws for fixed latent vectors; the
last blessed generator (the baseline) is scored on the same latents. It blesses the candidate when
the distance is within the spec's bound and, given a baseline, not worse than the baseline's by
more than the spec's change threshold: TFMA's own rules for a lower-is-better metric. The results
are written in TFMA's formats (`metrics*.tfrecord`, `validations.tfrecord`), so
`tfma.load_metrics` / `tfma.load_validation_result` read them as any evaluation.

The gated metric's `MetricConfig.config` (JSON) says which raw feature holds the pictures and how
many to compare (`{"feature": "image", "pictures": 1000, "seed": 0}`).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2, validation_result_pb2
from tfx import types
from tfx.components.evaluator import constants
from tfx.dsl.components.base import base_executor, executor_spec
from tfx.types import artifact_utils
from tfx.types.standard_component_specs import (
    BASELINE_MODEL_KEY,
    BLESSING_KEY,
    EVAL_CONFIG_KEY,
    EVALUATION_KEY,
    EXAMPLE_SPLITS_KEY,
    EXAMPLES_KEY,
    MODEL_KEY,
)
from tfx.utils import io_utils, json_utils, path_utils, proto_utils

from components.metric_names import FRECHET_DISTANCE, FRECHET_DISTANCE_CLASS
from components.sample_quality import picture_distance
from components.tunable import TunableEvaluator, with_metric_bounds
from modules.export import IMAGES_KEY, SERVING_SIGNATURE
from modules.sample_grids import fixed_latents

logger = logging.getLogger(__name__)

CANDIDATE, BASELINE = "candidate", "baseline"
METRICS_FILE = "metrics-00000-of-00001.tfrecord"
VALIDATIONS_FILE = "validations.tfrecord"


@dataclass(frozen=True)
class SampleQualityGate:
    """The gated metric's settings and thresholds, read from the eval_config."""

    feature: str
    pictures: int
    seed: int
    threshold: tfma.MetricThreshold


def sample_quality_metric_config(feature: str, pictures: int, seed: int = 0) -> dict[str, Any]:
    """The `MetricConfig.config` of the gated Fréchet distance."""
    return {"feature": feature, "pictures": pictures, "seed": seed}


def read_gate(eval_config: tfma.EvalConfig) -> SampleQualityGate:
    """The gated Fréchet distance's settings, as `sample_quality_metric_config` wrote them."""
    for metrics_spec in eval_config.metrics_specs:
        for metric in metrics_spec.metrics:
            if metric.class_name == FRECHET_DISTANCE_CLASS:
                settings = json.loads(metric.config or "{}")
                missing = [key for key in ("feature", "pictures", "seed") if key not in settings]
                if missing:
                    raise ValueError(f"eval_config: the {FRECHET_DISTANCE_CLASS} metric's config has no "
                                     f"{', '.join(missing)} (expected {{\"feature\", \"pictures\", \"seed\"}})")
                return SampleQualityGate(settings["feature"], int(settings["pictures"]), int(settings["seed"]),
                                         metric.threshold)
    raise ValueError(f"eval_config has no {FRECHET_DISTANCE_CLASS} metric to gate a generator on")


def read_pictures(examples: types.Artifact, split: str, feature: str, shape: tuple[int, ...], limit: int) -> np.ndarray:
    """Up to `limit` uint8 pictures of `feature` (raw pixel bytes) from one split of the examples."""
    files = sorted(tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([examples], split), "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit).batch(256)
    spec = {feature: tf.io.FixedLenFeature([], tf.string)}
    batches = [tf.reshape(tf.io.decode_raw(tf.io.parse_example(batch, spec)[feature], tf.uint8), (-1, *shape)).numpy()
               for batch in dataset]
    if not batches:
        raise ValueError(f"split {split!r} of {examples.uri} holds no pictures")
    return np.concatenate(batches)


class Generator:
    """A pushed or candidate generator's `serving_default`: pictures for latent vectors."""

    def __init__(self, model: types.Artifact) -> None:
        # The loaded object owns the signature's variables: keep it as long as the signature.
        self._loaded = tf.saved_model.load(path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model)))
        self._serve = self._loaded.signatures[SERVING_SIGNATURE]

    @property
    def picture_shape(self) -> tuple[int, ...]:
        """(height, width, channels) of one picture, as the signature declares its output."""
        return tuple(int(size) for size in self._serve.structured_outputs[IMAGES_KEY].shape[1:])

    def pictures(self, count: int, seed: int) -> np.ndarray:
        """`count` pictures for the fixed latents of `seed`."""
        z_dim = int(self._serve.structured_input_signature[1]["z"].shape[-1])
        latents = fixed_latents(count, z_dim, seed)
        return np.concatenate([self._serve(z=tf.constant(latents[start:start + 256]))[IMAGES_KEY].numpy()
                               for start in range(0, count, 256)])


def _metric_key(model_name: str, is_diff: bool = False) -> metrics_for_slice_pb2.MetricKey:
    return metrics_for_slice_pb2.MetricKey(name=FRECHET_DISTANCE, model_name=model_name, is_diff=is_diff)


def _failure(threshold: tfma.MetricThreshold, field: str, key: metrics_for_slice_pb2.MetricKey, value: float,
             message: str) -> validation_result_pb2.ValidationFailure:
    failure = validation_result_pb2.ValidationFailure(metric_key=key, message=message)
    getattr(failure.metric_threshold, field).CopyFrom(getattr(threshold, field))
    failure.metric_value.double_value.value = value
    return failure


def validate(threshold: tfma.MetricThreshold, candidate: float, baseline: float | None) -> validation_result_pb2.ValidationResult:
    """TFMA's rules for a lower-is-better metric: the value within its bounds (inclusive); with a
    baseline, candidate - baseline <= the change threshold's absolute value."""
    failures = []
    bounds = threshold.value_threshold
    if threshold.HasField("value_threshold"):
        lower = bounds.lower_bound.value if bounds.HasField("lower_bound") else -np.inf
        upper = bounds.upper_bound.value if bounds.HasField("upper_bound") else np.inf
        if not lower <= candidate <= upper:
            failures.append(_failure(threshold, "value_threshold", _metric_key(CANDIDATE), candidate,
                                     f"{FRECHET_DISTANCE} {candidate:.4f}, expected <= {upper:g}"))
    change = threshold.change_threshold
    if baseline is not None and threshold.HasField("change_threshold") and change.HasField("absolute"):
        diff = candidate - baseline
        if not diff <= change.absolute.value:
            failures.append(_failure(threshold, "change_threshold", _metric_key(CANDIDATE, is_diff=True), diff,
                                     f"{FRECHET_DISTANCE} {candidate:.4f} is worse than the last blessed "
                                     f"generator's {baseline:.4f}"))
    result = validation_result_pb2.ValidationResult(validation_ok=not failures)
    if failures:
        result.metric_validations_per_slice.add(failures=failures)
    return result


def write_evaluation(uri: str, candidate: float, baseline: float | None,
                     validation: validation_result_pb2.ValidationResult) -> None:
    """The metrics and the validation in TFMA's output files."""
    metrics = metrics_for_slice_pb2.MetricsForSlice()
    metrics.slice_key.SetInParent()
    values = [(_metric_key(CANDIDATE), candidate)]
    if baseline is not None:
        values += [(_metric_key(BASELINE), baseline), (_metric_key(CANDIDATE, is_diff=True), candidate - baseline)]
    for key, value in values:
        item = metrics.metric_keys_and_values.add(key=key)
        item.value.double_value.value = value
    for name, record in ((METRICS_FILE, metrics), (VALIDATIONS_FILE, validation)):
        with tf.io.TFRecordWriter(os.path.join(uri, name)) as writer:
            writer.write(record.SerializeToString())


def record_blessing(blessing: types.Artifact, model: types.Artifact, baseline_model: types.Artifact | None,
                    blessed: bool) -> None:
    """What TFX's Evaluator records on its ModelBlessing (the baseline resolver and the Pusher read it)."""
    blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
    if baseline_model is not None:
        blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline_model.uri)
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline_model.id)
    name = constants.BLESSED_FILE_NAME if blessed else constants.NOT_BLESSED_FILE_NAME
    io_utils.write_string_file(os.path.join(blessing.uri, name), "")
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY,
                                     constants.BLESSED_VALUE if blessed else constants.NOT_BLESSED_VALUE)


class SampleQualityExecutor(base_executor.BaseExecutor):
    """Scores the candidate generator (and the baseline) on the eval split's pictures; blesses."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        properties = with_metric_bounds(exec_properties)
        eval_config = tfma.EvalConfig()
        proto_utils.json_to_proto(properties[EVAL_CONFIG_KEY], eval_config)
        gate = read_gate(eval_config)
        split = json_utils.loads(properties.get(EXAMPLE_SPLITS_KEY) or "null") or ["eval"]
        model = artifact_utils.get_single_instance(input_dict[MODEL_KEY])
        baseline_model = (input_dict.get(BASELINE_MODEL_KEY) or [None])[0]

        generator = Generator(model)
        # The real pictures first: a smaller eval split than `pictures` sets how many are drawn.
        real = read_pictures(artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY]), split[0], gate.feature,
                             generator.picture_shape, gate.pictures)
        count = max(len(real), 2)  # a distance between two sets of pictures needs two of each
        candidate_pictures = generator.pictures(count, gate.seed)
        candidate = picture_distance(real, candidate_pictures)
        baseline = (picture_distance(real, Generator(baseline_model).pictures(count, gate.seed))
                    if baseline_model is not None else None)
        validation = validate(gate.threshold, candidate, baseline)
        evaluation_uri = artifact_utils.get_single_uri(output_dict[EVALUATION_KEY])
        write_evaluation(evaluation_uri, candidate, baseline, validation)
        record_blessing(artifact_utils.get_single_instance(output_dict[BLESSING_KEY]), model, baseline_model,
                        validation.validation_ok)
        logger.info("%s %.4f on %d real and %d generated pictures%s: %s", FRECHET_DISTANCE, candidate, len(real),
                    len(candidate_pictures), "" if baseline is None else f" (last blessed: {baseline:.4f})",
                    "blessed" if validation.validation_ok else "not blessed")


class SampleQualityEvaluator(TunableEvaluator):
    """The Evaluator for generators: the Tunable Evaluator's spec and arguments (TFX's Evaluator plus
    the Kubeflow bound parameters), run by `SampleQualityExecutor` instead of TFMA."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(SampleQualityExecutor)
