"""StatisticsGen and Transform under Beam's direct running modes, and as the data grows.

Runs the data half of a pipeline (ExampleGen, StatisticsGen, SchemaGen, ExampleValidator,
Transform; no Trainer) in a fresh process per measurement and reports the two Beam steps'
seconds (from the run's own progress records) and the process's peak memory (ru_maxrss).

  modes:   mnist_mlp on 70,000 synthetic 28x28 images (Keras' mnist.npz layout) with
           `--direct_running_mode` in_memory / multi_threading / multi_processing and
           `--direct_num_workers` 1 / 2 / 0 (0: one per core).
  scaling: boston_mlp on 10k, 100k and 1M rows (the real rows of mlxtend's boston_housing.csv,
           repeated with noise); goal: 10x the rows in at most 11x the time.

    python -m benchmarks.beam_scaling modes [--repeats 2]
    python -m benchmarks.beam_scaling scaling [--rows 10000 100000 1000000]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.logs import configure_logging
from benchmarks.workers import run_worker

logger = logging.getLogger("benchmarks.beam_scaling")
DATA_STEPS = ("CourseExampleGen", "StatisticsGen", "SchemaGen", "previous_statistics_resolver", "ExampleValidator",
              "Transform")
MODES = {
    "in_memory, 1 worker": ["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    "multi_threading, 2 workers": ["--direct_running_mode=multi_threading", "--direct_num_workers=2"],
    "multi_processing, 2 workers": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "multi_processing, 0 (all cores)": ["--direct_running_mode=multi_processing", "--direct_num_workers=0"],
}


def worker(spec_id: str, data_dir: str, output: str, beam_args: list[str]) -> dict:
    """Runs the data half of `spec_id` in this process; returns step seconds and peak MB."""
    from tfx import v1 as tfx
    from tfx.orchestration.pipeline import RunOptions

    from components.sources import get_source, locate
    from pipelines.factory import PipelinePlacement, create_pipeline
    from pipelines.runs.layout import RunLayout
    from pipelines.runs.progress import component_progress
    from pipelines.spec.pipeline_spec import load_spec

    spec = load_spec(spec_id)
    layout = RunLayout(output)
    args = [arg for arg in spec.beam.args if not arg.startswith(("--direct_running_mode", "--direct_num_workers"))]
    placement = PipelinePlacement(
        pipeline_root=layout.pipeline_root, serving_dir=layout.serving_dir,
        data=locate(get_source(spec.data.source), data_dir),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(layout.metadata_path),
        beam_pipeline_args=[*args, *beam_args], custom_resolvers=True,
    )
    pipeline = create_pipeline(spec, placement)
    # A partial run: Transform and what it needs (a fresh output directory: nothing cached).
    with component_progress(len(DATA_STEPS)) as progress:
        tfx.orchestration.LocalDagRunner().run(pipeline, run_options=RunOptions(to_nodes=["Transform"]))
    return {**{name: progress.seconds.get(name, 0.0) for name in ("StatisticsGen", "Transform")},
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(spec_id: str, data_dir: str, beam_args: list[str]) -> dict:
    output = tempfile.mkdtemp(prefix="bench-beam-")
    try:
        return run_worker("benchmarks.beam_scaling", spec_id, data_dir, output, json.dumps(beam_args))
    finally:
        shutil.rmtree(output, ignore_errors=True)


def write_boston_rows(directory: str, rows: int, seed: int = 0) -> None:
    """`rows` rows in mlxtend's boston_housing.csv layout: real rows resampled, 1 % noise."""
    import mlxtend.data

    real = np.loadtxt(os.path.join(os.path.dirname(mlxtend.data.__file__), "data", "boston_housing.csv"), delimiter=",")
    rng = np.random.default_rng(seed)
    sample = real[rng.integers(0, len(real), rows)]
    sample *= 1 + 0.01 * rng.standard_normal(sample.shape)
    np.savetxt(os.path.join(directory, "boston_housing.csv"), sample, delimiter=",", fmt="%.6g")


def _row(label: str, result: dict, rows: int | None = None) -> str:
    both = result["StatisticsGen"] + result["Transform"]
    per_row = f" | {1e6 * both / rows:.1f}" if rows else ""
    return (f"| {label} | {result['StatisticsGen']:.1f} | {result['Transform']:.1f} | {both:.1f}{per_row} "
            f"| {result['peak_mb']:,.0f} |")


def _median(results: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(worker(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["modes", "scaling"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    configure_logging()
    data_dir = tempfile.mkdtemp(prefix="bench-beam-data-")
    try:
        if args.what == "modes":
            from benchmarks.import_throughput import write_mnist

            write_mnist(data_dir, 70_000)
            results: dict[str, list[dict]] = {name: [] for name in MODES}
            for _ in range(args.repeats):
                for name, beam_args in MODES.items():  # interleaved: the machine's noise is shared
                    results[name].append(measure("mnist_mlp", data_dir, beam_args))
            logger.info("| mode | StatisticsGen s | Transform s | both s | peak MB |\n|---|---:|---:|---:|---:|")
            for name, runs in results.items():
                logger.info(_row(name, _median(runs)))
            return
        logger.info("| rows | StatisticsGen s | Transform s | both s | µs per row | peak MB |\n|---|---:|---:|---:|---:|---:|")
        for rows in args.rows:
            write_boston_rows(data_dir, rows)
            logger.info(_row(f"{rows:,}", _median([measure("boston_mlp", data_dir, []) for _ in range(args.repeats)]), rows))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
