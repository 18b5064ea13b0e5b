"""`coursepipe predict`: batch predictions from a pushed model, exactly what serving would answer.

The data (a CSV of raw feature columns, TFRecords of `tf.Example`, or the source's own files) is
checked against the pipeline's schema first, as `coursepipe validate` checks it; with anomalies
nothing is scored. The examples are then fed, serialized, to the pushed model's `serving_default`
signature, the one a model server calls: the Transform graph inside it preprocesses them, so
nothing here re-implements the preprocessing. One output row per example: the model's prediction
and, for a classifier, each class's probability.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError

from components.validation.anomalies import AnomalyRow, errors_and_warnings
from components.validation.data_forms import LoadedData
from modules.export import OUTPUT_KEY, SERVING_SIGNATURE
from pipelines.data.checks import check_path
from pipelines.spec.pipeline_spec import PipelineSpec

BATCH_SIZE = 1024
SAVED_MODEL_FILE = "saved_model.pb"


class NoModelError(LookupError):
    """No pushed model to predict with (a usage error)."""


@dataclass(frozen=True)
class CheckedData:
    """The data to score, the schema it was checked against, and what the check found."""

    data: LoadedData
    schema_origin: str
    anomalies: tuple[AnomalyRow, ...]  # those the spec does not mark as warnings

    @property
    def ok(self) -> bool:
        return not self.anomalies


def model_directory(serving_dir: str, model: str) -> str:
    """`latest`: the newest version the Pusher pushed into `serving_dir`; else a SavedModel path."""
    if model != "latest":
        if not os.path.isfile(os.path.join(model, SAVED_MODEL_FILE)):
            raise NoModelError(f"--model: {model} holds no {SAVED_MODEL_FILE}; expected a pushed model's directory")
        return model
    versions = [name for name in os.listdir(serving_dir) if name.isdigit()] if os.path.isdir(serving_dir) else []
    if not versions:
        raise NoModelError(f"no pushed model in {serving_dir}; run the pipeline until a model is blessed, "
                           "or give --model DIR")
    return os.path.join(serving_dir, max(versions, key=int))


def checked_data(spec: PipelineSpec, data: str, output_dir: str | None, keep: tuple[str, ...] = ()) -> CheckedData:
    """Reads `data` and checks it as `coursepipe validate` does; kinds in `warn_on` do not count.
    `keep`: columns of a serving CSV carried into the predictions (an id to join them back)."""
    checked = check_path(spec, data, output_dir, keep=keep)
    errors, _ = errors_and_warnings(checked.outcome.rows, spec.validation.warn_on)
    return CheckedData(checked.data, checked.schema_origin, tuple(errors))


# What the pipelines' Pusher exports: serving_default(examples: serialized tf.Examples) -> OUTPUT_KEY.
EXAMPLES_INPUT = "examples"


def serving_signature(model_dir: str) -> Any:
    """The model's `serving_default`, checked to take serialized tf.Examples and return the
    predictions; NoModelError saying what the directory holds instead (a damaged file, a model
    of another pipeline)."""
    try:
        loaded = tf.saved_model.load(model_dir)
    except (OSError, ValueError, RuntimeError, tf.errors.OpError, DecodeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise NoModelError(f"--model: {model_dir}: not a SavedModel TensorFlow can load ({reason})") from None
    if SERVING_SIGNATURE not in loaded.signatures:
        raise NoModelError(f"--model: {model_dir}: the model has no {SERVING_SIGNATURE} signature (it has: "
                           f"{', '.join(loaded.signatures) or 'none'}); expected a model a pipeline pushed")
    signature = loaded.signatures[SERVING_SIGNATURE]
    inputs = sorted(signature.structured_input_signature[1])
    outputs = sorted(signature.structured_outputs)
    if inputs != [EXAMPLES_INPUT] or OUTPUT_KEY not in outputs:
        raise NoModelError(f"--model: {model_dir}: its {SERVING_SIGNATURE} takes {', '.join(inputs)} and returns "
                           f"{', '.join(outputs)}; expected serialized tf.Examples ({EXAMPLES_INPUT}) in and "
                           f"{OUTPUT_KEY} out, as this project's pipelines push (a model of another pipeline?)")
    return signature


def predict(signature: Any, examples: tuple[bytes, ...]) -> np.ndarray:
    """The `serving_default` outputs for serialized examples, batch by batch, as one array."""
    batches = [signature(examples=tf.constant(examples[start:start + BATCH_SIZE]))[OUTPUT_KEY].numpy()
               for start in range(0, len(examples), BATCH_SIZE)]
    return np.concatenate(batches).reshape(len(examples), -1)


def prediction_rows(spec: PipelineSpec, outputs: np.ndarray) -> tuple[list[str], list[list[object]]]:
    """Header and rows: the predicted class (its name when the label has names) and each class's
    probability for a classifier (softmax of logits; a single sigmoid unit gives P(class 1)), else
    the predicted values."""
    features = spec.data.feature_set()
    num_classes = features.num_classes
    binary = num_classes == 2 and outputs.shape[1] == 1  # one sigmoid unit: P(class 1)
    if num_classes is not None and spec.training.target == "label" and (outputs.shape[1] == num_classes or binary):
        if binary:
            positive = tf.sigmoid(outputs).numpy() if spec.training.from_logits else outputs
            outputs = np.concatenate([1.0 - positive, positive], axis=1)
        probabilities = tf.nn.softmax(outputs).numpy() if spec.training.from_logits and not binary else outputs
        names = features.class_names or tuple(range(num_classes))
        header = ["example", "predicted_class", *(f"probability_{name}" for name in names)]
        rows = [[i, names[int(np.argmax(p))], *(float(v) for v in p)] for i, p in enumerate(probabilities)]
        return header, rows
    header = ["example", *(("prediction",) if outputs.shape[1] == 1 else
                           (f"prediction_{k}" for k in range(outputs.shape[1])))]
    return header, [[i, *(float(v) for v in row)] for i, row in enumerate(outputs)]


def with_carried_columns(header: list[str], rows: list[list[object]], keep: tuple[str, ...],
                         carried: tuple[tuple[str, ...], ...]) -> tuple[list[str], list[list[object]]]:
    """The kept input columns first, then the predictions, row by row."""
    if not keep:
        return header, rows
    return [*keep, *header], [[*values, *row] for values, row in zip(carried, rows, strict=True)]


def write_predictions(path: str, header: list[str], rows: list[list[object]]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
