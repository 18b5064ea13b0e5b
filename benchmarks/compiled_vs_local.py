"""A compiled pipeline run step by step (`coursepipe run-compiled`, one process per TFX node, as
open-source KFP runs it) against `coursepipe run` (one process, LocalDagRunner), side by side.

Each repeat runs both, interleaved, cold (fresh directories) and then unchanged (from cache), each
as its own `coursepipe` process; medians and the ratio per case.

    python -m benchmarks.compiled_vs_local [--spec iris_softmax] [--repeats 1]
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

logger = logging.getLogger("benchmarks.compiled_vs_local")
COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run([COURSEPIPE, *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"coursepipe {' '.join(args[:2])} failed:\n{completed.stderr[-2000:]}")
    return time.perf_counter() - started


def one_repeat(spec_id: str, scratch: str) -> dict[str, float]:
    local_dir, root = os.path.join(scratch, "local"), os.path.join(scratch, "root")
    compiled = os.path.join(scratch, "pipeline.yaml")
    timed(["compile", spec_id, "--output", compiled, "--pipeline-root", root, "--image", "unused:benchmark",
           "--metadata", f"sqlite://{os.path.join(root, 'metadata.sqlite')}"])
    run_compiled = ["run-compiled", compiled, "--log-dir", os.path.join(scratch, "logs")]
    return {
        "local cold": timed(["run", spec_id, "--output", local_dir]),
        "compiled cold": timed(run_compiled),
        "local unchanged": timed(["run", spec_id, "--output", local_dir]),
        "compiled unchanged": timed(run_compiled),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="iris_softmax")
    parser.add_argument("--repeats", type=int, default=1)
    options = parser.parse_args()
    configure_logging()
    seconds: dict[str, list[float]] = {}
    for _ in range(options.repeats):
        with tempfile.TemporaryDirectory() as scratch:
            for case, value in one_repeat(options.spec, scratch).items():
                seconds.setdefault(case, []).append(value)
    logger.info("| %s | local s | compiled s | compiled / local |", options.spec)
    logger.info("|---|---:|---:|---:|")
    for case in ("cold", "unchanged"):
        local, compiled = (statistics.median(seconds[f"{kind} {case}"]) for kind in ("local", "compiled"))
        logger.info("| %s | %.1f | %.1f | %.1f× |", case, local, compiled, compiled / local)


if __name__ == "__main__":
    main()
