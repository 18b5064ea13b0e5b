"""Warm start: a Trainer that begins from the latest blessed model's weights.

Each trained model keeps its Keras weights beside its serving export (`<model>/Format-Keras-Weights/`,
TensorFlow's checkpoint format, which reads and writes `gs://` and `s3://` too) with the shapes of its
variables. A warm-started Trainer gets the latest blessed model through TFX's `base_model` input,
builds its own model from the spec, and loads those weights only when the architecture matches
variable for variable; otherwise (no blessed model yet, a model from before this feature, a changed
architecture) it trains from scratch and says why, in its log and in `warm_start.json` of its run
directory, which `coursepipe run` prints.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import tensorflow as tf

if TYPE_CHECKING:
    import tf_keras as keras

logger = logging.getLogger(__name__)

WEIGHTS_DIR = "Format-Keras-Weights"
WEIGHTS_PREFIX = "weights"
ARCHITECTURE_FILE = "architecture.json"
WARM_START_FILE = "warm_start.json"


@dataclass(frozen=True)
class WarmStart:
    """What a warm-started Trainer began from: `used` and the base model, or why it could not."""

    used: bool
    base_model: str | None
    reason: str


def _architecture(model: keras.Model) -> list[list[int]]:
    return [list(weight.shape) for weight in model.weights]


def weights_dir(serving_model_dir: str) -> str:
    """Where a model's warm-start weights live: beside its serving export in the Model artifact."""
    return f"{os.path.dirname(serving_model_dir.rstrip('/'))}/{WEIGHTS_DIR}"


def save_for_warm_start(model: keras.Model, serving_model_dir: str) -> None:
    """Keeps the trained weights and their shapes with the model, for a later warm start."""
    directory = weights_dir(serving_model_dir)
    tf.io.gfile.makedirs(directory)
    model.save_weights(f"{directory}/{WEIGHTS_PREFIX}", save_format="tf")
    with tf.io.gfile.GFile(f"{directory}/{ARCHITECTURE_FILE}", "w") as handle:
        handle.write(json.dumps({"shapes": _architecture(model)}))


def warm_start(model: keras.Model, base_model: str | None) -> WarmStart:
    """Loads the base model's weights into `model` when its architecture is the same."""
    if not base_model:
        return WarmStart(False, None, "no blessed model yet: training from scratch")
    directory = weights_dir(base_model)
    if not tf.io.gfile.exists(f"{directory}/{ARCHITECTURE_FILE}"):
        return WarmStart(False, base_model, f"the blessed model kept no weights to start from ({directory} "
                                            "is missing; it was trained before warm start existed): training from scratch")
    with tf.io.gfile.GFile(f"{directory}/{ARCHITECTURE_FILE}") as handle:
        saved = json.load(handle)["shapes"]
    current = _architecture(model)
    if saved != current:
        return WarmStart(False, base_model, f"the architecture changed (the blessed model's variables have shapes "
                                            f"{saved}, this model's {current}): training from scratch")
    model.load_weights(f"{directory}/{WEIGHTS_PREFIX}").assert_existing_objects_matched()
    return WarmStart(True, base_model, f"started from the weights of the blessed model {base_model}")


def record_warm_start(result: WarmStart, model_run_dir: str) -> None:
    """Logs the outcome and writes it into the run directory (`warm_start.json`)."""
    logger.info("warm start: %s", result.reason)
    tf.io.gfile.makedirs(model_run_dir)
    with tf.io.gfile.GFile(f"{model_run_dir.rstrip('/')}/{WARM_START_FILE}", "w") as handle:
        handle.write(json.dumps(asdict(result)))
