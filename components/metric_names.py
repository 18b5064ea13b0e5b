"""Names of the metrics this project's components compute beside TFMA's, free of heavy imports (the
CLI's spec checks read them without numpy or TensorFlow)."""
from __future__ import annotations

# A generator's gate (components.sample_quality): its name in specs and results, and the
# MetricConfig class_name that asks the sample-quality Evaluator for it.
FRECHET_DISTANCE = "frechet_distance"
FRECHET_DISTANCE_CLASS = "FrechetDistance"
