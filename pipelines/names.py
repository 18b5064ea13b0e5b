"""The names every part of a pipeline agrees on, in one place and free of heavy imports.

The factory builds components under these ids, the run summary and the report read ML Metadata by
them, the spec rules check `kubeflow.resources` against them, the compiler gives the Trainer its
GPU by them, and the CLI imports this module without TensorFlow. The metric table says which
metrics the Evaluator can gate on, as which TFMA class and in which direction.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from components.metric_names import FRECHET_DISTANCE, FRECHET_DISTANCE_CLASS

EXAMPLE_GEN_ID = "CourseExampleGen"
STATISTICS_GEN_ID = "StatisticsGen"
SCHEMA_GEN_ID = "SchemaGen"
IMPORT_SCHEMA_GEN_ID = "ImportSchemaGen"  # replaces SchemaGen when the spec names a curated schema
EXAMPLE_VALIDATOR_ID = "ExampleValidator"
TRANSFORM_ID = "Transform"
TRAINER_ID = "Trainer"
EVALUATOR_ID = "Evaluator"
PUSHER_ID = "Pusher"
TUNER_ID = "Tuner"  # only in specs with a `tuning` section, between Transform and Trainer
COMPONENT_IDS = (
    EXAMPLE_GEN_ID,
    STATISTICS_GEN_ID,
    SCHEMA_GEN_ID,
    EXAMPLE_VALIDATOR_ID,
    TRANSFORM_ID,
    TRAINER_ID,
    EVALUATOR_ID,
    PUSHER_ID,
)
# The components whose output is a pipeline's Schema (Transform also writes one, of the same type).
SCHEMA_PRODUCER_IDS = (SCHEMA_GEN_ID, IMPORT_SCHEMA_GEN_ID)
BASELINE_RESOLVER_ID = "latest_blessed_model_resolver"
PREVIOUS_STATISTICS_RESOLVER_ID = "previous_statistics_resolver"
WARM_START_RESOLVER_ID = "warm_start_model_resolver"

# Modules named by dotted path (docs/design.md, "Dotted paths, not module_file").
PREPROCESSING_FN = "modules.preprocessing.preprocessing_fn"
RUN_FN = "modules.trainer.run_fn"
TUNER_FN = "modules.tuning.tuner_fn"

# The Kubeflow Pipelines experiment `coursepipe submit` starts runs in unless told otherwise.
DEFAULT_EXPERIMENT = "course-pipelines"



GAN_MODEL = "dcgan"  # the registry's generator/discriminator pair (modules.models.gan)


class GatedMetric(NamedTuple):
    """A metric the Evaluator can gate on: its TFMA class, its better direction, the values it takes."""

    tfma_class: str
    higher_is_better: bool
    lowest: float = 0.0
    highest: float = math.inf


ACCURACY_RANGE = {"lowest": 0.0, "highest": 1.0}
# Metrics the Evaluator can gate on, by the name a spec uses.
EVAL_METRICS: dict[str, GatedMetric] = {
    "sparse_categorical_accuracy": GatedMetric("SparseCategoricalAccuracy", True, **ACCURACY_RANGE),
    "categorical_accuracy": GatedMetric("CategoricalAccuracy", True, **ACCURACY_RANGE),
    "binary_accuracy": GatedMetric("BinaryAccuracy", True, **ACCURACY_RANGE),
    "auc": GatedMetric("AUC", True, **ACCURACY_RANGE),
    "mean_squared_error": GatedMetric("MeanSquaredError", False),
    "mean_absolute_error": GatedMetric("MeanAbsoluteError", False),
    "root_mean_squared_error": GatedMetric("RootMeanSquaredError", False),
    # Autoencoders: the mean of the per-example reconstruction loss the exported model returns.
    "reconstruction_loss": GatedMetric("MeanPrediction", False),
    # Generators (training.style gan / wgan_gp): components.generator_evaluator, not TFMA.
    FRECHET_DISTANCE: GatedMetric(FRECHET_DISTANCE_CLASS, False),
}


def component_ids(imports_schema: bool = False, tuned: bool = False) -> tuple[str, ...]:
    """The ids of the components a pipeline runs (resolvers aside): with a curated schema file
    (`imports_schema`) an ImportSchemaGen replaces SchemaGen; a `tuned` one runs a Tuner before its
    Trainer. (`PipelineSpec.component_ids` says which of them a spec's pipeline has.)"""
    ids = COMPONENT_IDS
    if imports_schema:
        ids = tuple(IMPORT_SCHEMA_GEN_ID if name == SCHEMA_GEN_ID else name for name in ids)
    if tuned:
        ids = tuple(item for name in ids for item in ((TUNER_ID, name) if name == TRAINER_ID else (name,)))
    return ids

# `evaluation.slices[].by` for one slice per class.
LABEL_SLICE = "label"
