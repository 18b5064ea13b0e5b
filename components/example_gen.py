"""`CourseExampleGen`: a FileBasedExampleGen whose executor reads a course data source.

It stays a FileBasedExampleGen so TFX's own driver fingerprints the data files (a changed file
re-runs the pipeline, an unchanged one comes from cache), resolves `{SPAN}` in the input pattern
to the newest data drop and records it on the Examples artifact, and so the Kubeflow compiler
knows it. The split is the course's (`components.splits`), not a hash of each record.

All records are read and checked before the Beam pipeline is built: a bad file fails the step
with a `DataFileError` and publishes no artifact.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Mapping

import apache_beam as beam
import numpy as np
import tensorflow as tf
from google.protobuf import any_pb2, struct_pb2
from pydantic import TypeAdapter
from tfx import v1 as tfx
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from components.sources import DataLocation, DataSource, Record, get_source
from components.splits import EVAL_SPLIT, TRAIN_SPLIT, SplitConfig, apply_split
from components.sources.base import DataFileError
from modules.features import Feature, FeatureSet

logger = logging.getLogger(__name__)

# Generated sources read no file: a pattern that matches nothing keeps TFX's fingerprint constant,
# and the options in custom_config (which TFX also fingerprints) decide the records.
NO_INPUT_FILES = ".generated-source-reads-no-files"
_CONFIG_KEY = "course_source"

__all__ = ["EVAL_SPLIT", "TRAIN_SPLIT", "course_example_gen", "read_source_splits", "to_example"]


def _feature(name: str, value: Any, feature: Feature) -> tf.train.Feature:
    if feature.kind == "uint8":
        array = np.asarray(value)
        if array.dtype != np.uint8 or (feature.fixed_size is not None and array.size != feature.fixed_size):
            raise DataFileError(
                f"feature {name!r}: expected {feature.fixed_size} uint8 values, got {array.size} {array.dtype}"
            )
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[array.tobytes()]))
    if feature.kind == "text":
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
    values = np.ravel(np.asarray(value))
    if feature.kind == "int":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values.astype(np.int64).tolist()))
    return tf.train.Feature(float_list=tf.train.FloatList(value=values.astype(np.float32).tolist()))


def _inferred_feature(value: Any) -> Feature:
    if isinstance(value, (int, np.integer)):
        return Feature("int")
    if isinstance(value, (str, bytes)):
        return Feature("text")
    return Feature("float")


def to_example(record: Record, features: FeatureSet | None = None) -> tf.train.Example:
    """One record as a `tf.Example`, each feature stored as `features` says.

    Without a FeatureSet, kinds follow the Python types (ints int64, strings bytes, else floats).
    """
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                name: _feature(name, value, features.feature(name) if features else _inferred_feature(value))
                for name, value in record.items()
            }
        )
    )


def read_source_splits(
    source: DataSource, files: list[str], options: Any, split: SplitConfig
) -> dict[str, list[bytes]]:
    """Reads, checks, splits and serializes every record of `source` (no Beam, no TFX)."""
    records = source.read(files, options)
    try:
        splits = apply_split(split, records)
    except ValueError as error:
        raise DataFileError(f"{source.id}: {error}") from None
    features = source.features(options)
    missing = [name for name in features.all_keys if any(name not in r for r in splits[TRAIN_SPLIT][:1])]
    if missing:
        raise DataFileError(f"{source.id}: records lack {', '.join(missing)}")
    serialized = {}
    for name, rows in splits.items():
        if not rows:
            raise DataFileError(f"{source.id}: the {name} split is empty; expected at least one example")
        serialized[name] = [to_example(row, features).SerializeToString() for row in rows]
    return serialized


def encode_source_config(source_id: str, options: Mapping[str, Any], split: SplitConfig) -> example_gen_pb2.CustomConfig:
    """The source, its options and the split as ExampleGen's `custom_config` (JSON in a Struct,
    so integers stay integers)."""
    struct = struct_pb2.Struct()
    struct.update({
        _CONFIG_KEY: json.dumps(
            {"source": source_id, "options": dict(options), "split": TypeAdapter(SplitConfig).dump_python(split, mode="json")},
            sort_keys=True,
        )
    })
    packed = any_pb2.Any()
    packed.Pack(struct)
    return example_gen_pb2.CustomConfig(custom_config=packed)


def decode_source_config(exec_properties: Mapping[str, Any]) -> tuple[DataSource, Any, SplitConfig]:
    custom_config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(exec_properties["custom_config"], custom_config)
    struct = struct_pb2.Struct()
    custom_config.custom_config.Unpack(struct)
    config = json.loads(struct[_CONFIG_KEY])
    source = get_source(config["source"])
    return source, source.parse_options(config["options"]), TypeAdapter(SplitConfig).validate_python(config["split"])


class CourseExampleGenExecutor(BaseExampleGenExecutor):
    """Reads the source named in `custom_config` and writes the course's train/eval split."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        raise NotImplementedError("CourseExampleGen splits in GenerateExamplesByBeam")

    def GenerateExamplesByBeam(
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        source, options, split = decode_source_config(exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties["input_config"], input_config)
        # The driver has put the resolved span into the pattern; both splits share it.
        pattern = input_config.splits[0].pattern
        files = [] if source.generated else sorted(fileio.glob(os.path.join(exec_properties["input_base"], pattern)))
        if not source.generated and not files:
            raise DataFileError(f"{source.id}: no file matches {os.path.join(exec_properties['input_base'], pattern)}")
        splits = read_source_splits(source, files, options, split)
        logger.info(
            "%s: %s", source.id, ", ".join(f"{name} {len(rows)} examples" for name, rows in splits.items())
        )
        return {
            name: pipeline | f"Create[{name}]" >> beam.Create(rows, reshuffle=False)
            for name, rows in splits.items()
        }


def course_example_gen(
    source_id: str, location: DataLocation, options: Mapping[str, Any], split: SplitConfig
) -> FileBasedExampleGen:
    """ExampleGen for `source_id` reading `location`, split as the course splits."""
    pattern = location.pattern or NO_INPUT_FILES
    return FileBasedExampleGen(
        input_base=location.input_base,
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name=TRAIN_SPLIT, pattern=pattern),
                tfx.proto.Input.Split(name=EVAL_SPLIT, pattern=pattern),
            ]
        ),
        custom_config=encode_source_config(source_id, options, split),
        custom_executor_spec=executor_spec.BeamExecutorSpec(CourseExampleGenExecutor),
    )
