"""How fast `coursepipe` answers: help, listing, and every kind of simple mistake.

Each command runs as its own process (the installed `coursepipe`), the cases interleaved, and the
wall time from start to exit is measured; medians over the repeats. Mistakes are reported before
TensorFlow, TFX or Beam is imported (`pipelines.cli`), so they should answer in well under 1.5 s;
`show` of a valid spec validates the model's hyperparameters, which imports Keras, as a reference.

    python -m benchmarks.command_latency [--repeats 5]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.command_latency")
COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")


def cases(scratch: str) -> dict[str, list[str]]:
    """Name -> arguments; the files they need are written into `scratch`."""
    bad_spec = os.path.join(scratch, "bad.yaml")
    with open(bad_spec, "w", encoding="utf-8") as handle:
        handle.write("id: x\ndescription: y\ndata: {source: irs}\n")
    taken = os.path.join(scratch, "a-file")
    with open(taken, "w", encoding="utf-8") as handle:
        handle.write("not a directory\n")
    return {
        "--help": ["--help"],
        "list": ["list"],
        "run: unknown id": ["run", "iris_softmaxx"],
        "run: invalid spec": ["run", "--spec", bad_spec],
        "run: missing data file": ["run", "iris_softmax", "--data-dir", os.path.join(scratch, "none.csv")],
        "run: output is a file": ["run", "iris_softmax", "--output", taken],
        "validate: missing data": ["validate", "iris_softmax", "--data", os.path.join(scratch, "none.csv")],
        "data: missing files": ["data", "mnist", "--data-dir", os.path.join(scratch, "nowhere")],
        "runs: no run directory": ["runs", "iris_softmax", "--output", os.path.join(scratch, "nowhere")],
        "compile: no image": ["compile", "iris_softmax", "--output", os.path.join(scratch, "x.json")],
        "drift: report is a directory": ["drift", "iris_softmax", "--baseline", taken, "--current", taken,
                                         "--report", scratch],
        "show (valid spec; imports Keras)": ["show", "iris_softmax"],
    }


def measure(args: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    completed = subprocess.run([COURSEPIPE, *args], capture_output=True, check=False)
    return time.perf_counter() - started, completed.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    configure_logging()
    with tempfile.TemporaryDirectory() as scratch:
        commands = cases(scratch)
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        codes: dict[str, int] = {}
        for _ in range(options.repeats):
            for name, args in commands.items():
                elapsed, codes[name] = measure(args)
                seconds[name].append(elapsed)
    logger.info("| command | exit code | median s | max s |")
    logger.info("|---|---:|---:|---:|")
    for name, values in seconds.items():
        logger.info("| %s | %d | %.2f | %.2f |", name, codes[name], statistics.median(values), max(values))


if __name__ == "__main__":
    main()
