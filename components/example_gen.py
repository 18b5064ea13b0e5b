"""`CourseExampleGen`: a FileBasedExampleGen whose executor reads a course data source.

It stays a FileBasedExampleGen so TFX's own driver fingerprints the data file (a changed file
re-runs the pipeline, an unchanged one comes from cache) and so the Kubeflow compiler knows it.
The split is the course's, not a hash: shuffle with a fixed seed, hold out the last fraction
(what Keras' `validation_split` does after the course's `np.random.shuffle`).
"""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

import apache_beam as beam
import numpy as np
import tensorflow as tf
from google.protobuf import any_pb2, struct_pb2
from tfx import v1 as tfx
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from components.sources import Record, get_source

TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"


def split_course_style(
    records: Sequence[Record], eval_fraction: float, seed: int
) -> dict[str, list[Record]]:
    """Shuffle with `np.random.seed(seed)` as the course does, then hold out the last fraction."""
    order = np.arange(len(records))
    np.random.RandomState(seed).shuffle(order)
    n_eval = int(round(len(records) * eval_fraction))
    cut = len(records) - n_eval
    return {
        TRAIN_SPLIT: [records[i] for i in order[:cut]],
        EVAL_SPLIT: [records[i] for i in order[cut:]],
    }


def to_example(record: Record) -> tf.train.Example:
    """One record as a `tf.Example`: ints as int64, floats as float lists."""
    features = {}
    for name, value in record.items():
        if isinstance(value, (int, np.integer)):
            features[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
        else:
            features[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
    return tf.train.Example(features=tf.train.Features(feature=features))


def _source_config(exec_properties: dict[str, Any]) -> dict[str, Any]:
    custom_config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(exec_properties["custom_config"], custom_config)
    struct = struct_pb2.Struct()
    custom_config.custom_config.Unpack(struct)
    return json.loads(proto_utils.proto_to_json(struct))


class CourseExampleGenExecutor(BaseExampleGenExecutor):
    """Reads the source named in `custom_config` and writes the course's train/eval split."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        raise NotImplementedError("CourseExampleGen splits in GenerateExamplesByBeam")

    def GenerateExamplesByBeam(
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        config = _source_config(exec_properties)
        source = get_source(config["source"])
        path = os.path.join(exec_properties["input_base"], config["file"])
        records = list(source.read(path))
        # Struct numbers are doubles: the seed comes back as 116.0.
        splits = split_course_style(records, float(config["eval_fraction"]), int(config["seed"]))
        return {
            name: pipeline
            | f"Create[{name}]" >> beam.Create([to_example(r).SerializeToString() for r in rows])
            for name, rows in splits.items()
        }


def course_example_gen(
    source_id: str, data_path: str, eval_fraction: float, seed: int
) -> FileBasedExampleGen:
    """ExampleGen for `source_id` reading `data_path` (a file), split as the course splits."""
    input_base, file_name = os.path.split(os.path.abspath(data_path))
    struct = struct_pb2.Struct()
    struct.update(
        {"source": source_id, "file": file_name, "eval_fraction": eval_fraction, "seed": seed}
    )
    packed = any_pb2.Any()
    packed.Pack(struct)
    return FileBasedExampleGen(
        input_base=input_base,
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name=TRAIN_SPLIT, pattern=file_name),
                tfx.proto.Input.Split(name=EVAL_SPLIT, pattern=file_name),
            ]
        ),
        custom_config=example_gen_pb2.CustomConfig(custom_config=packed),
        custom_executor_spec=executor_spec.BeamExecutorSpec(
            CourseExampleGenExecutor
        ),
    )
