"""Issue 22's five performance goals, each measured in this run, beside its figure when the goals
were set and the anchor's (TFX's penguin example, as measured then; it is not re-run here: the
`tfx` wheel ships its code but not its data).

- Goal 1, commands answer fast: every case of `benchmarks.command_latency` but `show` (which
  validates a model and imports Keras on purpose), each its own process; the slowest median.
- Goals 2 and 3, warm and cold iris: `coursepipe run iris_softmax` in its own process
  (`benchmarks.pipeline_runs.timed_run`), cold into a fresh directory then again unchanged, beside
  the variant `before-goal-3` (Transform with TFX's defaults: statistics, analyzer cache,
  materialized examples; Keras creating an iterator per epoch), interleaved; and the floor of a warm run (the imports
  TFX's local runner cannot run without), the same with every executor module of the pipeline
  (TFX's launcher imports each before it looks in the cache: `pipeline_runs.launcher_floor`), and
  TensorFlow alone (TFX's runner imports it, so no warm run can take less).
- Goal 4, full-size MNIST: `benchmarks.pipeline_vs_keras` on mnist_mlp with 70,000 synthetic
  images: the whole pipeline and the Trainer's fit, each against the plain Keras script, the two
  swapping order every repeat; the fit in wall seconds and in the process's CPU seconds, as medians
  and as each side's fastest repeat (`pipeline_vs_keras.fastest_fits`), beside how far the plain
  script's own identical fits spread in the same run.
- Goal 5, peak memory: the whole process's peak resident set of the cold iris runs above and of a
  cold `coursepipe run mnist_mlp --source mnist_5k`.

    python -m benchmarks.performance_goals [--repeats 3] [--mnist-repeats 5]
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
from typing import Any

from benchmarks import command_latency, pipeline_runs
from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.performance_goals")

# Issue 22's figures when it was filed (same machine class, its own runs).
BEFORE = {
    "commands": "7-22 s",
    "warm": "7.1 s",
    "cold": "28-34 s",
    "mnist_ratio": "3.2x",
    "fit_ratio": "1.16x",
    "rss_iris": "0.96 GB",
    "rss_mnist": "1.0 GB",
}
ANCHOR = {"warm": "70 s", "cold": "104 s"}  # TFX's penguin example, issue 22's runs


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def command_seconds(repeats: int) -> tuple[str, float]:
    """(slowest command, its median seconds) over command_latency's cases but `show`."""
    with tempfile.TemporaryDirectory() as scratch:
        commands = {name: args for name, args in command_latency.cases(scratch).items()
                    if not name.startswith("show")}
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeats):
            for name, args in commands.items():
                seconds[name].append(command_latency.measure(args)[0])
    slowest = max(seconds, key=lambda name: _median(seconds[name]))
    return slowest, _median(seconds[slowest])


def iris_runs(repeats: int, work: str) -> dict[str, dict[str, list[float]]]:
    """Cold, warm seconds and cold peak RSS (MB) per variant, interleaved."""
    spec_file, _ = pipeline_runs.spec_files("iris_softmax", work)
    results: dict[str, dict[str, list[float]]] = {}
    for repeat in range(repeats):
        for variant in ("project", "before-goal-3"):
            output = os.path.join(work, f"iris-{variant}-{repeat}")
            cold = pipeline_runs.timed_run(variant, spec_file, output)
            warm = pipeline_runs.timed_run(variant, spec_file, output)
            rows = results.setdefault(variant, {"cold": [], "warm": [], "rss": []})
            rows["cold"].append(cold["seconds"])
            rows["warm"].append(warm["seconds"])
            rows["rss"].append(cold["peak_rss_mb"])
            logger.info("iris %s repeat %d: cold %.1f s, warm %.1f s, peak %.0f MB", variant, repeat,
                        cold["seconds"], warm["seconds"], cold["peak_rss_mb"])
    return results


def mnist_5k_peak_mb(work: str) -> float:
    """Peak RSS of one cold `coursepipe run mnist_mlp --source mnist_5k`."""
    spec_file, _ = pipeline_runs.spec_files("mnist_mlp", work, changed_hparam=None)
    run = pipeline_runs.timed_run("project", spec_file, os.path.join(work, "mnist_5k"),
                                  extra_args=["--source", "mnist_5k"])
    return run["peak_rss_mb"]


def mnist_full_ratios(repeats: int, work: str) -> dict[str, Any]:
    """Medians of the whole pipeline and its fit against the plain script on 70,000 images."""
    from benchmarks import pipeline_vs_keras
    from benchmarks.import_throughput import write_mnist

    case = pipeline_vs_keras.CASES["mnist_mlp_full"]
    data_dir = os.path.join(work, "mnist-full")
    os.makedirs(data_dir)
    write_mnist(data_dir, 70_000)
    runs = [pipeline_vs_keras.side_by_side(case, pipeline_vs_keras.spec_for(case, seed=100 + repeat, data_dir=data_dir),
                                           os.path.join(work, f"mnist-full-{repeat}"), repeat)
            for repeat in range(repeats)]
    pipeline_s = _median([r.pipeline_seconds for r in runs])
    plain_s = _median([r.plain_seconds for r in runs])
    _, _, fit_ratio, _, _, cpu_ratio = pipeline_vs_keras.fit_medians(runs)
    return {"pipeline_s": pipeline_s, "plain_s": plain_s, "ratio": pipeline_s / plain_s, "fit_ratio": fit_ratio,
            "fit_ratios": [r.pipeline_fit.seconds / r.plain_fit.seconds for r in runs], "cpu_ratio": cpu_ratio,
            "cpu_ratios": [r.pipeline_fit.cpu_seconds / r.plain_fit.cpu_seconds for r in runs],
            "fastest": pipeline_vs_keras.fastest_fits(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="iris runs and command latency")
    parser.add_argument("--mnist-repeats", type=int, default=5, help="full-size MNIST, pipeline and plain")
    args = parser.parse_args()
    configure_logging()
    work = tempfile.mkdtemp(prefix="bench-goals-")
    try:
        slowest, command_s = command_seconds(args.repeats)
        iris = iris_runs(args.repeats, work)
        floor = _median([pipeline_runs.import_seconds(pipeline_runs.RUNNER_FLOOR) for _ in range(3)])
        launcher_code = pipeline_runs.launcher_floor("iris_softmax", work)
        launcher_floor = _median([pipeline_runs.import_seconds(launcher_code) for _ in range(3)])
        tensorflow_s = _median([pipeline_runs.import_seconds("import tensorflow") for _ in range(3)])
        mnist_peak = mnist_5k_peak_mb(work)
        mnist = mnist_full_ratios(args.mnist_repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    project, before = iris["project"], iris["before-goal-3"]
    cold, cold_before = _median(project["cold"]), _median(before["cold"])
    fastest = mnist["fastest"]
    rows = [
        ("1. commands answer (slowest: " + slowest + ")", "< 1.5 s", BEFORE["commands"], "-", f"{command_s:.2f} s",
         command_s < 1.5),
        ("2. warm iris re-run", "<= 4 s", BEFORE["warm"], ANCHOR["warm"],
         f"{_median(project['warm']):.1f} s (floor {floor:.1f} s; with every executor TFX's launcher imports "
         f"{launcher_floor:.1f} s; `import tensorflow` alone {tensorflow_s:.1f} s)",
         _median(project["warm"]) <= 4.0),
        ("3. cold iris run", "<= 20 s", BEFORE["cold"], ANCHOR["cold"],
         f"{cold:.1f} s ({cold / cold_before:.2f}x of {cold_before:.1f} s with goal 3's changes undone)", cold <= 20.0),
        ("4. full MNIST, pipeline / plain Keras", "<= 2.0x", BEFORE["mnist_ratio"], "-",
         f"{mnist['ratio']:.2f}x ({mnist['pipeline_s']:.0f} s / {mnist['plain_s']:.0f} s)", mnist["ratio"] <= 2.0),
        ("4. full MNIST, Trainer fit / plain fit", "<= 1.05x", BEFORE["fit_ratio"], "-",
         f"{mnist['fit_ratio']:.2f}x (per repeat {', '.join(f'{r:.2f}' for r in mnist['fit_ratios'])})",
         mnist["fit_ratio"] <= 1.05),
        ("4. same, in CPU seconds of the process", "<= 1.05x", "-", "-",
         f"{mnist['cpu_ratio']:.2f}x (per repeat {', '.join(f'{r:.2f}' for r in mnist['cpu_ratios'])})",
         mnist["cpu_ratio"] <= 1.05),
        ("4. same, each side's fastest repeat", "<= 1.05x", "-", "-",
         f"{fastest.ratio:.2f}x ({fastest.pipeline_seconds:.1f} s / {fastest.plain_seconds:.1f} s; CPU "
         f"{fastest.cpu_ratio:.2f}x); the plain script's own fits spanned {fastest.plain_spread:.2f}x",
         fastest.ratio <= 1.05),
        ("5. peak memory, iris cold run", "<= 1.1 GB", BEFORE["rss_iris"], "-",
         f"{_median(project['rss']) / 1024:.2f} GB", _median(project["rss"]) <= 1.1 * 1024),
        ("5. peak memory, mnist_5k cold run", "<= 1.1 GB", BEFORE["rss_mnist"], "-", f"{mnist_peak / 1024:.2f} GB",
         mnist_peak <= 1.1 * 1024),
    ]
    logger.info("\n%d repeats (full MNIST: %d), medians; %d CPU cores", args.repeats, args.mnist_repeats,
                os.cpu_count() or 0)
    logger.info("| goal | target | when set | anchor (TFX penguin) | this run | met |")
    logger.info("|---|---|---|---|---|---|")
    for goal, target, when_set, anchor, measured, met in rows:
        logger.info("| %s | %s | %s | %s | %s | %s |", goal, target, when_set, anchor, measured, "yes" if met else "no")


if __name__ == "__main__":
    main()
