"""TFX's Pusher that never pushes the same model twice.

TFX's Pusher copies every blessed model into a new `<serving dir>/<unix time>/`. When a pipeline
starts over (a new ML Metadata store after a damaged one, `coursepipe run --fresh`), the Trainer
retrains, the Evaluator has no baseline, and the very model already being served would be pushed
again. This Pusher compares the candidate's SavedModel fingerprint (TensorFlow's `fingerprint.pb`:
the hashes of its signatures, its object graph and its variables) with the models already in the
serving directory; on a match it copies nothing and records the existing directory as where the
model is served, with `already_pushed` set.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

logger = logging.getLogger(__name__)

FINGERPRINT_FILE = "fingerprint.pb"
ALREADY_PUSHED_KEY = "already_pushed"


def model_fingerprint(model_dir: str) -> tuple[int, int, int] | None:
    """(signature_def_hash, saved_object_graph_hash, checkpoint_hash) of a SavedModel, or None when
    it has no fingerprint. The program hash and file checksum are left out: they change with the
    names TensorFlow gives traced functions, not with what the model computes."""
    from tensorflow.core.protobuf import fingerprint_pb2

    path = os.path.join(model_dir, FINGERPRINT_FILE)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "rb") as handle:
        fingerprint = fingerprint_pb2.FingerprintDef.FromString(handle.read())
    return fingerprint.signature_def_hash, fingerprint.saved_object_graph_hash, fingerprint.checkpoint_hash


def served_copy(model_dir: str, base_directory: str) -> str | None:
    """The version directory under `base_directory` holding the same model as `model_dir`, if any."""
    wanted = model_fingerprint(model_dir)
    if wanted is None or not fileio.isdir(base_directory):
        return None
    for version in sorted(fileio.listdir(base_directory)):
        candidate = os.path.join(base_directory, version.rstrip("/"))
        if fileio.isdir(candidate) and model_fingerprint(candidate) == wanted:
            return candidate
    return None


class DeduplicatingPusherExecutor(pusher_executor.Executor):
    """TFX's Pusher executor, skipping the copy when the serving directory already holds the model."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") == "filesystem" and self.CheckBlessing(input_dict):
            existing = served_copy(self.GetModelPath(input_dict), destination.filesystem.base_directory)
            if existing is not None:
                model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
                self._MarkPushed(model_push, pushed_destination=existing, pushed_version=os.path.basename(existing))
                model_push.set_int_custom_property(ALREADY_PUSHED_KEY, 1)
                logger.info("The blessed model is already served from %s; not copied again", existing)
                return
        super().Do(input_dict, output_dict, exec_properties)


class CoursePusher(Pusher):
    """TFX's Pusher (same spec, inputs and outputs) with `DeduplicatingPusherExecutor`."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(DeduplicatingPusherExecutor)
