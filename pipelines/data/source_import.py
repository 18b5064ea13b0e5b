"""Importing a data source on its own: the ExampleGen step of a pipeline, and what it produced.

`coursepipe data SOURCE` runs exactly the `CourseExampleGen` a pipeline runs (same errors, same
caching, same spans), then describes the Examples: examples per split, and each feature's stored
type and shape.
"""
from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from typing import Any, Mapping

from components.sources import DataLocation, DataSource, get_source, locate
from components.sources.columns import MinimumExamples, TableOptions
from components.splits import SplitConfig
from modules.features import FeatureSet
from pipelines.names import EXAMPLE_GEN_ID
from pipelines.runs.layout import RunLayout
from pipelines.runs.lock import exclusive_run

logger = logging.getLogger(__name__)

def data_location(source: DataSource, path: str | None, field_name: str, generated_base: str) -> DataLocation:
    """Where a local run reads `source`: `path` (a directory or a file) or the source's default.

    Generated sources read nothing; their ExampleGen's base is `generated_base` (the run dir).
    """
    return locate(source, generated_base if source.generated else path, field_name)


@dataclass(frozen=True)
class FeatureDescription:
    name: str
    stored_as: str
    values_per_example: str
    shape: str


@dataclass(frozen=True)
class ImportedData:
    """What an import produced: the Examples artifact, its span, and what is in it."""

    uri: str
    span: int
    split_counts: dict[str, int]
    features: list[FeatureDescription]


def import_source(
    source_id: str,
    output_dir: str,
    path: str | None = None,
    options: Mapping[str, Any] | None = None,
    split: SplitConfig | None = None,
) -> ImportedData:
    """Runs the ExampleGen of `source_id` alone and describes the Examples it published."""
    source = get_source(source_id)
    parsed_options = source.parse_options(options)
    metadata_path = run_example_gen(source_id, output_dir, path, options, split)
    return describe_latest_examples(metadata_path, source.features(parsed_options))


def run_example_gen(
    source_id: str,
    output_dir: str,
    path: str | None = None,
    options: Mapping[str, Any] | None = None,
    split: SplitConfig | None = None,
) -> str:
    """Runs the ExampleGen of `source_id` alone (LocalDagRunner, SQLite metadata in `output_dir`);
    returns the metadata path."""
    source = get_source(source_id)
    parsed_options = source.parse_options(options)
    if isinstance(parsed_options, TableOptions):  # an import to look at, not a training set: no minimum
        parsed_options = parsed_options.model_copy(update={"min_examples": MinimumExamples(per_split=0, per_class=0)})
    location = data_location(source, path, "--data-dir", output_dir)  # missing files: before TFX loads
    from tfx.orchestration import metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.pipeline import Pipeline

    from components.example_gen import course_example_gen

    layout = RunLayout(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    metadata_path = layout.metadata_path
    example_gen = course_example_gen(
        source.id, location, parsed_options.model_dump(mode="json"), split or source.default_split
    ).with_id(EXAMPLE_GEN_ID)
    pipeline = Pipeline(
        pipeline_name=f"data_{source.id}",
        pipeline_root=layout.pipeline_root,
        components=[example_gen],
        enable_cache=True,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(metadata_path),
    )
    logger.info("Importing %s from %s", source.id, os.path.join(location.input_base, location.pattern or ""))
    with exclusive_run(output_dir):
        LocalDagRunner().run(pipeline)
    return metadata_path


def describe_latest_examples(metadata_path: str, features: FeatureSet) -> ImportedData:
    """The newest Examples artifact in the metadata store, counted and described."""
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    store = mlmd.MetadataStore(config)
    artifacts = [a for a in store.get_artifacts_by_type("Examples") if a.state == metadata_store_pb2.Artifact.LIVE]
    if not artifacts:
        raise RuntimeError(f"{metadata_path}: no Examples artifact was published")
    latest = max(artifacts, key=lambda a: a.id)
    span = latest.custom_properties["span"].int_value if "span" in latest.custom_properties else 0
    counts, described = _scan_examples(latest.uri, features)
    return ImportedData(uri=latest.uri, span=span, split_counts=counts, features=described)


def _scan_examples(uri: str, features: FeatureSet) -> tuple[dict[str, int], list[FeatureDescription]]:
    import tensorflow as tf

    counts: dict[str, int] = {}
    value_counts: dict[str, set[int]] = {}
    stored: dict[str, str] = {}
    split_dirs = sorted(glob.glob(os.path.join(uri, "Split-*")), key=lambda d: (not d.endswith("-train"), d))
    for split_dir in split_dirs:
        split = os.path.basename(split_dir)[len("Split-"):]
        files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
        count = 0
        for serialized in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            count += 1
            example = tf.train.Example.FromString(serialized.numpy())
            for name, feature in example.features.feature.items():
                kind = feature.WhichOneof("kind") or "empty"
                values = getattr(feature, kind).value if kind != "empty" else []
                stored[name] = {"int64_list": "int64", "float_list": "float", "bytes_list": "bytes"}.get(kind, kind)
                value_counts.setdefault(name, set()).add(len(values))
        counts[split] = count
    described = []
    order = {name: i for i, name in enumerate(features.all_keys)}
    for name in sorted(stored, key=lambda n: (order.get(n, len(order)), n)):
        feature = features.feature(name)
        sizes = sorted(value_counts[name])
        per_example = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}..{sizes[-1]}"
        shape = "x".join("?" if d is None else str(d) for d in feature.shape) or "scalar"
        stored_as = f"{stored[name]} (raw uint8)" if feature.kind == "uint8" else stored[name]
        described.append(FeatureDescription(name, stored_as, per_example, shape))
    return counts, described
