"""`CourseExampleValidator`: TFX's ExampleValidator that also checks drift and skew, and gates.

It writes the same ExampleAnomalies artifact as the stock component (`Split-<name>/SchemaDiff.pb`,
a `blessed` custom property per split) plus `Split-serving/` for serving data and a
`validation.html` view, then fails the execution when any anomaly is not one the spec marks as a
warning. Transform runs after it, so a failed validation trains nothing and pushes nothing; the
models pushed before stay where they are, and a re-run with corrected data resumes from cache.

Drift needs the previous span's statistics: a Resolver hands over the latest ExampleStatistics
artifacts of the pipeline, and the executor takes the one of the newest span older than the
current one (none on a pipeline's first span: nothing to compare, logged).
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

from tfx import types
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter
from tfx.utils import writer_utils

from components.sources import get_source
from components.splits import TRAIN_SPLIT
from components.validation.anomalies import DataAnomaliesError, errors_and_warnings
from components.validation.checks import ValidationOutcome, validate_training_data
from components.validation.config import DriftConfig, SkewConfig
from components.validation.data_forms import load_data
from components.validation.html_view import REPORT_FILE, validation_html, write_report
from components.validation.schemas import schema_in, with_open_dates

logger = logging.getLogger(__name__)

STATISTICS_KEY = "statistics"
SCHEMA_KEY = "schema"
PREVIOUS_STATISTICS_KEY = "previous_statistics"
ANOMALIES_KEY = "anomalies"
CONFIG_KEY = "validation_config"
ANOMALIES_FILE = "SchemaDiff.pb"  # the stock ExampleValidator's file name
BLESSED_KEY = "blessed"
REJECTED_DIR = "rejected"


def gate_config(label: str, source_id: str, options: dict[str, Any], warn_on: list[str],
                drift: DriftConfig, skew: SkewConfig | None) -> str:
    """The executor's configuration as one JSON execution property (fingerprinted for caching)."""
    return json.dumps({
        "label": label, "source": source_id, "options": options, "warn_on": sorted(warn_on),
        "drift": drift.model_dump(mode="json") if drift.enabled else None,
        "skew": skew.model_dump(mode="json") if skew is not None else None,
    }, sort_keys=True)


def rejected_dir(artifact_uri: str) -> str:
    """`<root>/ExampleValidator/anomalies/<id>` -> `<root>/ExampleValidator/rejected/<id>`."""
    anomalies_dir, execution = os.path.split(artifact_uri.rstrip("/"))
    return os.path.join(os.path.dirname(anomalies_dir), REJECTED_DIR, execution)


def previous_span_statistics(candidates: list[types.Artifact], current: types.Artifact) -> types.Artifact | None:
    """The statistics of the newest span before `current`'s (latest produced among equals).

    Only StatisticsGen's statistics count, those with a train split: Transform's pre- and
    post-transform statistics have the same type, but no span and no splits.
    """
    older = [
        artifact for artifact in candidates
        if artifact.id != current.id and artifact.span < current.span
        and TRAIN_SPLIT in artifact_utils.decode_split_names(artifact.split_names or "[]")
    ]
    return max(older, key=lambda artifact: (artifact.span, artifact.id), default=None)


class Executor(base_executor.BaseExecutor):
    """Validates, writes the ExampleAnomalies artifact and the HTML view, then gates."""

    def Do(self, input_dict: dict[str, list[types.Artifact]], output_dict: dict[str, list[types.Artifact]],
           exec_properties: dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        config = json.loads(exec_properties[CONFIG_KEY])
        statistics_artifact = artifact_utils.get_single_instance(input_dict[STATISTICS_KEY])
        source = get_source(config["source"])
        options = source.parse_options(config["options"])
        schema = with_open_dates(schema_in(artifact_utils.get_single_uri(input_dict[SCHEMA_KEY])), options)
        splits = artifact_utils.decode_split_names(statistics_artifact.split_names)
        statistics = {split: stats_artifact_utils.load_statistics(statistics_artifact, split).proto() for split in splits}

        drift = DriftConfig.model_validate(config["drift"]) if config["drift"] else None
        previous_artifact = previous_span_statistics(input_dict.get(PREVIOUS_STATISTICS_KEY, []), statistics_artifact)
        previous = None
        if drift is not None and previous_artifact is None:
            logger.info("No statistics of an earlier span than span %d: drift not checked", statistics_artifact.span)
        elif drift is not None:
            previous = stats_artifact_utils.load_statistics(previous_artifact, TRAIN_SPLIT).proto()

        skew = SkewConfig.model_validate(config["skew"]) if config["skew"] else None
        serving = None
        if skew is not None:
            serving = load_data(skew.data, source, options, schema,
                                field="validation.skew.data").statistics(schema)

        outcome = validate_training_data(
            statistics, schema, config["label"], previous=previous, drift=drift, serving=serving, skew=skew,
            previous_name=f"span {previous_artifact.span}" if previous_artifact is not None else "",
        )
        anomalies_artifact = artifact_utils.get_single_instance(output_dict[ANOMALIES_KEY])
        errors, warnings = errors_and_warnings(outcome.rows, config["warn_on"])
        # TFX deletes a failed execution's outputs: a rejection is written beside them instead.
        destination = rejected_dir(anomalies_artifact.uri) if errors else anomalies_artifact.uri
        report = self._write(anomalies_artifact, destination, statistics_artifact.span, outcome,
                             statistics[TRAIN_SPLIT], serving)
        for row in warnings:
            logger.warning("data anomaly (a warning by the spec's validation.warn_on): %s", row)
        if errors:
            raise DataAnomaliesError(errors, report=report)
        logger.info("Data validation passed%s; view: %s",
                    f" with {len(warnings)} warning(s)" if warnings else "", report)

    @staticmethod
    def _write(artifact: types.Artifact, destination: str, span: int, outcome: ValidationOutcome,
               train_statistics: Any, serving: Any) -> str:
        """Writes the anomalies as TFX lays them out (`Split-<name>/SchemaDiff.pb`) and the HTML
        view under `destination`; returns the view's path."""
        artifact.split_names = artifact_utils.encode_split_names(list(outcome.anomalies))
        artifact.span = span
        blessed = {}
        for where, anomalies in outcome.anomalies.items():
            writer_utils.write_anomalies(os.path.join(destination, f"Split-{where}", ANOMALIES_FILE), anomalies)
            blessed[where] = int(not anomalies.anomaly_info and not anomalies.HasField("dataset_anomaly_info"))
        artifact.set_json_value_custom_property(BLESSED_KEY, blessed)
        page = validation_html("Data validation", outcome, train_statistics, "train", serving, "serving")
        return write_report(os.path.join(destination, REPORT_FILE), page)


class CourseExampleValidatorSpec(ComponentSpec):
    PARAMETERS = {CONFIG_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics),
        SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema),
        PREVIOUS_STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics, optional=True),
    }
    OUTPUTS = {ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class CourseExampleValidator(base_component.BaseComponent):
    """ExampleValidator + drift between spans + skew against serving data, failing on anomalies."""

    SPEC_CLASS = CourseExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, statistics: types.BaseChannel, schema: types.BaseChannel, validation_config: str,
                 previous_statistics: types.BaseChannel | None = None) -> None:
        super().__init__(CourseExampleValidatorSpec(
            statistics=statistics,
            schema=schema,
            previous_statistics=previous_statistics,
            validation_config=validation_config,
            anomalies=types.Channel(type=standard_artifacts.ExampleAnomalies),
        ))
