"""Where to put the drift threshold: TFDV's Jensen-Shannon divergence for shifted and unshifted samples.

Draws a baseline and a current sample of a standard normal feature, the current one shifted by
0, 0.5 or 1 standard deviation, computes both statistics as the validator does
(`components.validation.data_forms.statistics_of`) and prints the divergence TFDV's drift
comparator reports: the median and the maximum over several seeds, per sample size. The default
threshold (components/validation/config.py) must sit above the unshifted column and below the
one-standard-deviation column.

    python -m benchmarks.drift_thresholds [--sizes 60 120 1000 10000] [--seeds 5]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
import tensorflow_data_validation as tfdv

from benchmarks.logs import configure_logging
from components.validation.data_forms import statistics_of

logger = logging.getLogger("benchmarks.drift_thresholds")
SHIFTS = (0.0, 0.5, 1.0)


def _statistics(values: np.ndarray):
    examples = [tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[float(v)]))})).SerializeToString() for v in values]
    return statistics_of(examples, "sample")


def divergence(size: int, shift: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    baseline, current = _statistics(rng.normal(0, 1, size)), _statistics(rng.normal(shift, 1, size))
    schema = tfdv.infer_schema(baseline)
    tfdv.get_feature(schema, "x").drift_comparator.jensen_shannon_divergence.threshold = 1.0
    anomalies = tfdv.validate_statistics(current, schema, previous_statistics=baseline)
    return anomalies.drift_skew_info[0].drift_measurements[0].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 120, 1000, 10000])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    configure_logging()
    header = " | ".join(f"shift {shift} sd (median / max)" for shift in SHIFTS)
    logger.info("| examples | %s |", header)
    logger.info("|---|%s", "---|" * len(SHIFTS))
    for size in args.sizes:
        cells = []
        for shift in SHIFTS:
            values = [divergence(size, shift, seed) for seed in range(args.seeds)]
            cells.append(f"{statistics.median(values):.3f} / {max(values):.3f}")
        logger.info("| %d | %s |", size, " | ".join(cells))


if __name__ == "__main__":
    main()
