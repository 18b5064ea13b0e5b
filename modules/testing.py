"""Helpers to unit-test component modules without running a pipeline.

Public on purpose: users who write their own `preprocessing_fn` or model builder test them the
same way the project tests its own (see README, "Testing your own modules").

- `run_preprocessing_fn` runs a `preprocessing_fn` through real tf.Transform
  (`tft_beam.AnalyzeAndTransformDataset`) on a few rows, so analyzers such as means and
  vocabularies are computed as in a pipeline.
- `build_and_step` builds a model from the registry (or a dotted path), runs one training step on
  a small batch and reports the weights before and after.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
import tf_keras as keras
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from modules.fitting import compile_model
from modules.registry import build_model
from modules.spec_sections import TrainingConfig

PreprocessingFn = Callable[..., Mapping[str, tf.Tensor]]


@dataclass(frozen=True)
class TransformResult:
    rows: list[dict[str, Any]]
    feature_spec: dict[str, Any]


def run_preprocessing_fn(
    preprocessing_fn: PreprocessingFn,
    rows: Sequence[Mapping[str, Any]],
    feature_spec: Mapping[str, Any],
    custom_config: Mapping[str, Any] | None = None,
    apply_to: Sequence[Mapping[str, Any]] | None = None,
) -> TransformResult:
    """Analyzes and transforms `rows` (dicts of raw values) with real tf.Transform.

    `feature_spec` maps each raw feature to `tf.io.FixedLenFeature` / `VarLenFeature`, as a
    pipeline's schema would. `custom_config` is passed when the function takes it (TFX does too).
    With `apply_to`, the analyzers see `rows` only (a pipeline's training split) and the result is
    `apply_to` transformed (its eval split): values unseen in training meet the vocabularies' OOV ids.
    """
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(dict(feature_spec)))

    def fn(inputs: Mapping[str, tf.Tensor]) -> Mapping[str, tf.Tensor]:
        if custom_config is None:
            return preprocessing_fn(inputs)
        return preprocessing_fn(inputs, custom_config)

    with tempfile.TemporaryDirectory() as temp_dir:
        with tft_beam.Context(temp_dir=temp_dir, force_tf_compat_v1=False):
            analyzed = ([dict(row) for row in rows], metadata)
            if apply_to is None:
                (transformed_rows, transformed_metadata), _ = analyzed | tft_beam.AnalyzeAndTransformDataset(fn)
            else:
                transform_fn = analyzed | tft_beam.AnalyzeDataset(fn)
                transformed_rows, transformed_metadata = (
                    ([dict(row) for row in apply_to], metadata), transform_fn) | tft_beam.TransformDataset()
    return TransformResult(
        rows=list(transformed_rows),
        feature_spec=schema_utils.schema_as_feature_spec(transformed_metadata.schema).feature_spec,
    )


@dataclass(frozen=True)
class ModelStep:
    model: keras.Model
    outputs: np.ndarray
    weights_before: list[np.ndarray]
    weights_after: list[np.ndarray]

    @property
    def weights_changed(self) -> bool:
        return any(not np.allclose(a, b) for a, b in zip(self.weights_before, self.weights_after, strict=True))


def build_and_step(
    model_name: str,
    hparams: Mapping[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    training: TrainingConfig,
) -> ModelStep:
    """Builds `model_name` with `hparams`, predicts on `x`, then trains one step on (x, y)."""
    model = build_model(model_name, dict(hparams))
    compile_model(model, training)
    outputs = model.predict(x, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    return ModelStep(model, outputs, before, [w.copy() for w in model.get_weights()])


def parameter_count(model: keras.Model) -> int:
    """Trainable and non-trainable parameters, as `model.summary()` counts them."""
    return int(model.count_params())


__all__ = ["ModelStep", "TransformResult", "build_and_step", "parameter_count", "run_preprocessing_fn"]
