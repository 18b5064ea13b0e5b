"""The spec's `validation:` section: which schema, which anomaly kinds only warn, drift and skew."""
from __future__ import annotations

from pydantic import Field, PositiveFloat

from modules.spec_sections import StrictModel

# `python -m benchmarks.drift_thresholds` (table in the README, "Data validation"): a shift of one
# standard deviation gives a Jensen-Shannon divergence of at least 0.16 from 60 to 10,000
# examples, a fresh sample of the same distribution at most 0.085.
DEFAULT_JENSEN_SHANNON = 0.1
DEFAULT_INFINITY_NORM = 0.1


class Thresholds(StrictModel):
    """Comparator thresholds: numeric features use the Jensen-Shannon divergence of their
    histograms, categorical ones (strings with a domain, the class label) the L-infinity distance
    of their value frequencies. `features` overrides the threshold of single features."""

    jensen_shannon_divergence: PositiveFloat = DEFAULT_JENSEN_SHANNON
    infinity_norm: PositiveFloat = DEFAULT_INFINITY_NORM
    features: dict[str, PositiveFloat] = Field(default_factory=dict)

    def threshold_for(self, feature: str, categorical: bool) -> float:
        default = self.infinity_norm if categorical else self.jensen_shannon_divergence
        return self.features.get(feature, default)


class DriftConfig(Thresholds):
    """The newest span's training split against the previous span's (TFDV drift comparators)."""

    enabled: bool = True


class SkewConfig(Thresholds):
    """Serving data against the training split (TFDV skew comparators)."""

    data: str = Field(description="serving data: a CSV, TFRecords of tf.Example, or the source's own files")


class ValidationConfig(StrictModel):
    """What the pipeline's ExampleValidator checks, and what stops the run."""

    schema_file: str | None = Field(
        None,
        alias="schema",
        description="a curated schema (`coursepipe schema freeze`): a bare file name is read from "
        "pipelines/schemas/, a path as given; the pipeline then imports it (ImportSchemaGen) "
        "instead of inferring one from each run's data",
    )
    warn_on: list[str] = Field(
        default_factory=list,
        description="anomaly kinds (TFDV AnomalyInfo.Type names) that are reported but do not stop the run",
    )
    drift: DriftConfig = DriftConfig()
    skew: SkewConfig | None = None
