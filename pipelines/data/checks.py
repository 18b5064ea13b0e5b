"""`coursepipe validate`, `drift` and `schema freeze`: data checks without running the pipeline.

Which schema a check uses, in order: `--schema FILE`; the spec's curated `validation.schema`;
the schema of the pipeline's latest local run (from its ML Metadata). `drift` falls back to a
schema inferred from the baseline data, since distances need no contract.
"""
from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
from tfx.utils import io_utils

from components.sources import get_source
from components.splits import TRAIN_SPLIT
from components.validation.checks import ValidationOutcome, compare_data, validate_data
from components.validation.data_forms import LoadedData, load_data
from components.validation.html_view import validation_html, write_report
from components.validation.schemas import curate, read_schema, schema_in, schema_path, with_open_dates, write_schema
from pipelines.names import SCHEMA_PRODUCER_IDS, STATISTICS_GEN_ID
from pipelines.runs.layout import layout_for
from pipelines.runs.summary import latest_output, split_statistics
from pipelines.spec.pipeline_spec import PipelineSpec

logger = logging.getLogger(__name__)

class NoSchemaError(LookupError):
    """No schema to check against: none given, none curated, no run recorded."""


@dataclass(frozen=True)
class CheckResult:
    """What a `validate` or `drift` found, the data it read, and where the HTML view is."""

    outcome: ValidationOutcome
    data: tuple[LoadedData, ...]
    schema_origin: str
    report: str


def pipeline_schema(spec: PipelineSpec, output_dir: str | None, override: str | None) -> tuple[schema_pb2.Schema, str]:
    """The schema to check `spec`'s data against, and where it came from (see the module doc);
    its date columns hold no closed set of values (`with_open_dates`), as in the run's gate."""
    schema, origin = _stored_schema(spec, output_dir, override)
    return with_open_dates(schema, get_source(spec.data.source).parse_options(spec.data.options)), origin


def _stored_schema(spec: PipelineSpec, output_dir: str | None, override: str | None) -> tuple[schema_pb2.Schema, str]:
    if override:
        return read_schema(override), override
    if spec.validation.schema_file:
        path = schema_path(spec.validation.schema_file)
        return read_schema(path), path
    layout = layout_for(spec, output_dir)
    schema = latest_output(layout.metadata_path, SCHEMA_PRODUCER_IDS, "Schema") if os.path.exists(layout.metadata_path) else None
    if schema is None:
        raise NoSchemaError(
            f"{spec.id}: no schema to check against: the spec names no validation.schema and "
            f"{layout.output_dir} holds no run; run 'coursepipe run {spec.reference}' or "
            f"'coursepipe schema freeze {spec.reference}' first, or give --schema FILE"
        )
    path = io_utils.get_only_uri_in_dir(schema.uri)
    return io_utils.SchemaReader().read(path), f"{path} (latest run)"


def default_report_path(spec: PipelineSpec, output_dir: str | None, command: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(layout_for(spec, output_dir).output_dir, "validation", f"{command}-{stamp}.html")


def _load(spec: PipelineSpec, path: str, schema: schema_pb2.Schema | None, field: str,
          keep: tuple[str, ...] = (), serving: bool = False) -> LoadedData:
    source = get_source(spec.data.source)
    return load_data(path, source, source.parse_options(spec.data.options), schema, field=field, keep=keep,
                     serving=serving)


@dataclass(frozen=True)
class CheckedPath:
    """One data path read and checked against the pipeline's schema, with the statistics used."""

    outcome: ValidationOutcome
    data: LoadedData
    statistics: statistics_pb2.DatasetFeatureStatisticsList
    schema_origin: str


def check_path(spec: PipelineSpec, data: str, output_dir: str | None = None,
               schema_file: str | None = None, keep: tuple[str, ...] = ()) -> CheckedPath:
    """Reads `data` and checks it against the pipeline's schema (as serving data when the label is
    absent): what `validate` reports and what `predict` checks before it scores."""
    schema, origin = pipeline_schema(spec, output_dir, schema_file)
    loaded = _load(spec, data, schema, "--data", keep, serving=True)
    statistics = loaded.statistics(schema)
    outcome = validate_data(statistics, schema, spec.data.feature_set().label, os.path.basename(loaded.path))
    return CheckedPath(outcome, loaded, statistics, origin)


def validate_path(spec: PipelineSpec, data: str, output_dir: str | None = None, schema_file: str | None = None,
                  report: str | None = None) -> CheckResult:
    """`check_path`, with TFDV's HTML view of it written to `report`."""
    checked = check_path(spec, data, output_dir, schema_file)
    where = os.path.basename(checked.data.path)
    page = validation_html(f"{spec.id}: validation of {checked.data.path}", checked.outcome, checked.statistics, where)
    path = write_report(report or default_report_path(spec, output_dir, "validate"), page)
    return CheckResult(checked.outcome, (checked.data,), checked.schema_origin, path)


def drift_between(spec: PipelineSpec, baseline: str, current: str, output_dir: str | None = None,
                  schema_file: str | None = None, report: str | None = None) -> CheckResult:
    """Drift distances of `current` against `baseline`, with the spec's drift thresholds."""
    try:
        schema, origin = pipeline_schema(spec, output_dir, schema_file)
    except NoSchemaError:
        schema, origin = None, "inferred from --baseline"
    baseline_data = _load(spec, baseline, schema, "--baseline")
    if schema is None:
        # An inferred schema marks no integer categorical, so these statistics are the ones it would give.
        baseline_statistics = baseline_data.statistics()
        schema = tfdv.infer_schema(baseline_statistics, infer_feature_shape=True)
    else:
        baseline_statistics = baseline_data.statistics(schema)
    current_data = _load(spec, current, schema, "--current")
    current_statistics = current_data.statistics(schema)
    label = spec.data.feature_set().label
    outcome = compare_data(baseline_statistics, current_statistics, schema, label, spec.validation.drift)
    page = validation_html(f"{spec.id}: drift of {current_data.path} against {baseline_data.path}", outcome,
                       current_statistics, "current", baseline_statistics, "baseline")
    path = write_report(report or default_report_path(spec, output_dir, "drift"), page)
    return CheckResult(outcome, (baseline_data, current_data), origin, path)


def freeze_schema(spec: PipelineSpec, output_dir: str | None = None, target: str | None = None) -> str:
    """Curates the latest run's inferred schema (with its training statistics) into `target`,
    default `pipelines/schemas/<id>.pbtxt`; returns the path written."""
    layout = layout_for(spec, output_dir)
    if not os.path.exists(layout.metadata_path):
        raise NoSchemaError(f"{spec.id}: no run in {layout.output_dir} to freeze the schema of; "
                            f"run 'coursepipe run {spec.reference}' first, or give --output DIR")
    schema_record = latest_output(layout.metadata_path, SCHEMA_PRODUCER_IDS, "Schema")
    statistics_record = latest_output(layout.metadata_path, (STATISTICS_GEN_ID,), "ExampleStatistics")
    if schema_record is None or statistics_record is None:
        raise NoSchemaError(f"{spec.id}: the runs in {layout.output_dir} recorded no schema and statistics "
                            "(the pipeline failed before SchemaGen)")
    schema_uri = schema_record.uri
    schema = schema_in(schema_uri)
    statistics = split_statistics(statistics_record.uri, TRAIN_SPLIT)
    features = spec.data.feature_set()
    path = target or schema_path(f"{spec.id}.pbtxt")
    write_schema(curate(schema, statistics, features), path)
    logger.info("Froze the schema of %s's latest run (%s) into %s", spec.id, schema_uri, path)
    return path
