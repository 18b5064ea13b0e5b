"""The names every part of a pipeline agrees on, in one place and free of heavy imports.

The factory builds components under these ids, the run summary and the report read ML Metadata by
them, the spec rules check `kubeflow.resources` against them, the compiler gives the Trainer its
GPU by them, and the CLI imports this module without TensorFlow. The metric table says which
metrics the Evaluator can gate on, as which TFMA class and in which direction.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.spec import PipelineSpec

EXAMPLE_GEN_ID = "CourseExampleGen"
STATISTICS_GEN_ID = "StatisticsGen"
SCHEMA_GEN_ID = "SchemaGen"
IMPORT_SCHEMA_GEN_ID = "ImportSchemaGen"  # replaces SchemaGen when the spec names a curated schema
EXAMPLE_VALIDATOR_ID = "ExampleValidator"
TRANSFORM_ID = "Transform"
TRAINER_ID = "Trainer"
EVALUATOR_ID = "Evaluator"
PUSHER_ID = "Pusher"
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

# Modules named by dotted path (docs/design.md, "Dotted paths, not module_file").
PREPROCESSING_FN = "modules.preprocessing.preprocessing_fn"
RUN_FN = "modules.trainer.run_fn"

# The Kubeflow Pipelines experiment `coursepipe submit` starts runs in unless told otherwise.
DEFAULT_EXPERIMENT = "course-pipelines"

# Metrics the Evaluator can gate on: TFMA class name and whether higher is better.
EVAL_METRICS: dict[str, tuple[str, bool]] = {
    "sparse_categorical_accuracy": ("SparseCategoricalAccuracy", True),
    "categorical_accuracy": ("CategoricalAccuracy", True),
    "binary_accuracy": ("BinaryAccuracy", True),
    "auc": ("AUC", True),
    "mean_squared_error": ("MeanSquaredError", False),
    "mean_absolute_error": ("MeanAbsoluteError", False),
    "root_mean_squared_error": ("RootMeanSquaredError", False),
    # Autoencoders: the mean of the per-example reconstruction loss the exported model returns.
    "reconstruction_loss": ("MeanPrediction", False),
}


def component_ids(spec: PipelineSpec) -> tuple[str, ...]:
    """The ids of the components `spec`'s pipeline runs (resolvers aside)."""
    if spec.validation.schema_file is None:
        return COMPONENT_IDS
    return tuple(IMPORT_SCHEMA_GEN_ID if name == SCHEMA_GEN_ID else name for name in COMPONENT_IDS)
