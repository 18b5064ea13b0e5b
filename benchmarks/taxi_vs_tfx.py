"""The `taxi_tips` pipeline beside TFX's own Chicago taxi example, on the same 15,002 trips.

TFX's side is its shipped `taxi_pipeline_native_keras._create_pipeline` with its own module file
(CsvExampleGen's hash split 2:1, the wide-and-deep Keras model, 1000 steps of 40), run by
`LocalDagRunner` with the in-process FnApiRunner (Beam 2.74's DirectRunner tries to download
Prism) and `TF_USE_LEGACY_KERAS=1` (its module builds `tf.keras` models that Keras 3 rejects).
Our side is `coursepipe run taxi_tips --json`. Each runs in its own process into a fresh
directory; the script prints each side's wall time and binary_accuracy on its eval split.

    python -m benchmarks.taxi_vs_tfx [--repeats 1]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.taxi_vs_tfx")
COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")

TFX_SIDE = r"""
import glob, json, os, sys
import tensorflow_model_analysis as tfma
from tfx.examples.chicago_taxi_pipeline import taxi_pipeline_native_keras as taxi
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
root = sys.argv[1]
base = os.path.dirname(taxi.__file__)
LocalDagRunner().run(taxi._create_pipeline(
    pipeline_name="taxi", pipeline_root=os.path.join(root, "pipeline"),
    data_root=os.path.join(base, "data", "simple"), module_file=os.path.join(base, "taxi_utils_native_keras.py"),
    serving_model_dir=os.path.join(root, "serving"), metadata_path=os.path.join(root, "metadata.sqlite"),
    beam_pipeline_args=["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]))
evaluation = sorted(glob.glob(os.path.join(root, "pipeline", "Evaluator", "evaluation", "*")))[-1]
for result in tfma.load_metrics(evaluation):
    for entry in result.metric_keys_and_values:
        if entry.key.name == "binary_accuracy" and not result.slice_key.single_slice_keys:
            print(json.dumps({"binary_accuracy": entry.value.double_value.value}))
"""


def _tfx_side(root: str) -> tuple[float, float]:
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", TFX_SIDE, root], env=env, capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    return wall, json.loads(done.stdout.strip().splitlines()[-1])["binary_accuracy"]


def _our_side(root: str) -> tuple[float, float]:
    started = time.monotonic()
    done = subprocess.run([COURSEPIPE, "run", "taxi_tips", "--output", root, "--json"],
                          capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    return wall, summary["metrics"]["binary_accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    configure_logging()
    rows = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as tfx_root, tempfile.TemporaryDirectory() as our_root:
            rows.append(("TFX taxi_pipeline_native_keras", repeat, *_tfx_side(tfx_root)))
            rows.append(("coursepipe run taxi_tips", repeat, *_our_side(our_root)))
    logger.info("%-32s %6s %8s %16s", "pipeline", "repeat", "wall s", "binary_accuracy")
    for name, repeat, wall, accuracy in rows:
        logger.info("%-32s %6d %8.1f %16.4f", name, repeat, wall, accuracy)


if __name__ == "__main__":
    main()
