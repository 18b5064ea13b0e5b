"""A wide table: where a run's time and memory go as the columns grow (60 rows, 300 numbers).

Writes a CSV of `--rows` rows and C float columns plus a class label for each C in `--columns`,
writes its spec with `coursepipe init`, and runs it (`coursepipe run`, a process each, the
widths interleaved over `--repeats`); reports each step's seconds from the run's own lines, the
whole run's wall seconds and the run's peak memory (the largest resident set of the process and
its children, from `wait4`). `--checkout DIR` runs another checkout of the project the same way
in the same rounds (its code first on `PYTHONPATH`), so a change is measured side by side.

    python -m benchmarks.wide_table [--rows 60] [--columns 30 300] [--repeats 2] [--checkout DIR]
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.wide_table")
COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")
STEP_LINE = re.compile(r"\[\d+/\d+\] (\w+) executed in ([0-9.]+) s")


def write_table(path: str, rows: int, columns: int, seed: int = 0) -> None:
    """`rows` rows of `columns` floats and a label (which of three means the first column is near)."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*(f"x{i}" for i in range(columns)), "label"])
        for row in range(rows):
            label = row % 3
            writer.writerow([*(round(label * (i == 0) + rng.gauss(0, 1), 4) for i in range(columns)), f"c{label}"])


def run_once(spec: str, output: str, checkout: str | None) -> tuple[float, float, dict[str, float]]:
    """(wall seconds, peak resident GB, seconds per step) of one `coursepipe run`."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    started = time.perf_counter()
    process = subprocess.Popen([COURSEPIPE, "run", "--spec", spec, "--output", output], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = process.stdout.read() if process.stdout is not None else ""
    _, status, usage = os.wait4(process.pid, 0)  # reaped here, for its resource usage
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"coursepipe run --spec {spec} failed:\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1e6, {name: float(value) for name, value in STEP_LINE.findall(text)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--columns", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--checkout", help="another checkout of the project, run side by side")
    args = parser.parse_args()
    configure_logging()
    variants = [("this checkout", None), *([("--checkout", args.checkout)] if args.checkout else [])]
    results: dict[tuple[str, int], list[tuple[float, float, dict[str, float]]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as scratch:
        specs = {}
        for columns in args.columns:
            data = os.path.join(scratch, f"wide_{columns}.csv")
            write_table(data, args.rows, columns)
            spec = os.path.join(scratch, f"wide_{columns}.yaml")
            subprocess.run([COURSEPIPE, "init", f"wide_{columns}", "--data", data, "--label", "label", "--to", spec],
                           check=True, capture_output=True)
            specs[columns] = spec
        for repeat in range(args.repeats):
            for columns in args.columns:
                for name, checkout in variants:
                    output = os.path.join(scratch, f"run_{columns}_{repeat}_{len(results)}")
                    results[(name, columns)].append(run_once(specs[columns], output, checkout))
                    logger.info("repeat %d, %d columns, %s: %.1f s", repeat + 1, columns, name,
                                results[(name, columns)][-1][0])
    steps = sorted({step for runs in results.values() for _, _, timing in runs for step in timing})
    logger.info("%d rows; medians of %d repeats (seconds; peak memory of the run's processes)", args.rows, args.repeats)
    logger.info("%-14s %7s %7s %8s  %s", "code", "columns", "run s", "peak GB", "  ".join(f"{s[:10]:>10}" for s in steps))
    for (name, columns), runs in sorted(results.items(), key=lambda item: (item[0][1], item[0][0])):
        per_step = [statistics.median(timing.get(step, 0.0) for _, _, timing in runs) for step in steps]
        logger.info("%-14s %7d %7.1f %8.2f  %s", name, columns, statistics.median(r[0] for r in runs),
                    max(r[1] for r in runs), "  ".join(f"{value:>10.1f}" for value in per_step))


if __name__ == "__main__":
    main()
