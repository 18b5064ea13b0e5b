"""What a user waits for: a cold run, an unchanged re-run, a hyperparameter-only re-run.

Each run is `coursepipe run --spec FILE --output DIR --json` in its own process, timed from outside
(Python start and imports included). Per repeat and variant: `cold` in a fresh output directory,
`warm` the same command again (goal: at most 10 % of cold, nothing executed), `hparams` with only
`model.hparams` changed (must execute only Trainer, Evaluator and Pusher). Each process gets its
own TMPDIR, whose size after the run shows what the run left behind.

Variants: `project` (the Beam args as the project sets them), `tfx-default` (without the
`--sdk_container_image` that `pipelines.factory.beam_args_for_local_workers` adds, i.e. TFX's own
behaviour, which builds a source package of TFX in every Beam step), `tft-converted` (AutoGraph
converting tf.Transform's code, TensorFlow's default, which `modules.autograph` turns off),
`tfx-components-eager` (TFX's `tfx/components/__init__.py` run as TFX ships it, importing every
component, which `pipelines.import_setup` defers), `keras3-loaded` (`TF_USE_LEGACY_KERAS=0`:
TensorFlow importing Keras 3 as it does unless told otherwise), `before-goal-3` (Transform with
TFX's defaults: its own statistics, an analyzer cache and materialized examples, which the Trainer
reads; Keras creating an iterator per epoch: what issue 22's goal 3 changed). Cold-start figures come from
the cold runs: `python -c "import pipelines.factory"` (imports of the run path) and the Trainer's
first epoch against its later ones (`training_stats.json`).

    python -m benchmarks.pipeline_runs [--spec iris_softmax] [--repeats 2] [--variants project,tfx-default,tft-converted]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.logs import configure_logging

logger = logging.getLogger("benchmarks.pipeline_runs")
VARIANTS = ("project", "tfx-default", "tft-converted", "tfx-components-eager", "keras3-loaded", "before-goal-3")


def worker(variant: str, argv: list[str]) -> int:
    """`coursepipe` in this process, with TFX's default Beam dependency behaviour, or TensorFlow's
    default AutoGraph conversion of tf.Transform's code, or TFX's eager `tfx.components`, if asked."""
    if variant == "tfx-components-eager":
        import tfx.components  # noqa: F401  (TFX's own __init__, before `pipelines` can defer it)
    from pipelines import cli, factory

    if variant == "tfx-default":
        factory.beam_args_for_local_workers = list
    if variant == "tft-converted":
        import modules.export
        import modules.fitting
        import modules.preprocessing
        import modules.registry  # noqa: F401  (each adds the do-not-convert rules on import)
        from modules.autograph import TRANSFORM_PACKAGE, convert_again

        convert_again(TRANSFORM_PACKAGE)
    if variant == "before-goal-3":
        from modules import fitting
        from pipelines.runs import local

        build = local.create_pipeline

        def with_tfx_transform_defaults(spec, placement):  # its own statistics, materialized examples
            transform = spec.transform.model_copy(update={"statistics": True, "materialize": True})
            return build(spec.model_copy(update={"transform": transform}), placement)

        local.create_pipeline = with_tfx_transform_defaults
        transform_component = factory.Transform
        factory.Transform = lambda **kwargs: transform_component(**{**kwargs, "disable_analyzer_cache": False})
        fitting.epochs_of = lambda train: (train, None)
    return cli.main(argv)


def _directory_mb(path: str) -> float:
    total = 0
    for root, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in names
                     if not os.path.islink(os.path.join(root, name)))
    return total / 1e6


def timed_run(variant: str, spec_file: str, output: str, extra_args: list[str] = ()) -> dict:
    """One `coursepipe run` in a subprocess: wall seconds, the JSON summary, MB left in TMPDIR and
    the process's peak resident set in MB (its own, from `wait4`)."""
    scratch = tempfile.mkdtemp(prefix="bench-tmp-")
    env = {**os.environ, "TMPDIR": scratch, "PYTHONWARNINGS": "ignore",
           **({"TF_USE_LEGACY_KERAS": "0"} if variant == "keras3-loaded" else {})}
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.pipeline_runs", "--worker", variant, "run", "--spec", spec_file,
             "--output", output, "--json", *extra_args],
            stdout=stdout, stderr=stderr, text=True, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if process.returncode != 0:
        raise RuntimeError(f"run failed ({process.returncode}): {err[-2000:]}")
    summary = json.loads(out[out.index("{"):])
    left_mb = _directory_mb(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds": seconds, "summary": summary, "tmp_mb": left_mb, "peak_rss_mb": usage.ru_maxrss / 1024}


# What TFX's local runner cannot run without, in a fresh process: TensorFlow (its file system
# layer), Beam (its executor operators), TFMA (TFX's component specs), the runner itself.
RUNNER_FLOOR = "import pipelines, tensorflow_model_analysis, tfx.orchestration.local.local_dag_runner"


def launcher_floor(spec_id: str, work: str) -> str:
    """RUNNER_FLOOR plus the module of each executor of `spec_id`'s pipeline, as one import line.

    TFX's launcher imports a node's executor class when it is built (`Launcher.__init__` makes the
    executor operator, whose `__init__` imports the class), before it looks for a cached execution:
    a run where every step comes from the cache imports every executor (Transform's tf.Transform,
    StatisticsGen's TFDV, the Evaluator's TFMA), even one that skipped building the components by
    running a stored pipeline IR."""
    from tfx.dsl.compiler import compiler
    from tfx.orchestration.local import runner_utils

    from pipelines.factory import PipelinePlacement, create_pipeline
    from pipelines.spec.pipeline_spec import load_spec

    placement = PipelinePlacement(pipeline_root=os.path.join(work, "floor-root"), serving_dir=os.path.join(work, "floor-serving"),
                                  custom_resolvers=True)
    ir = compiler.Compiler().compile(create_pipeline(load_spec(spec_id), placement))
    config = runner_utils.extract_local_deployment_config(ir)
    modules = set()
    for node_id in config.executor_specs:
        executor = runner_utils.extract_executor_spec(config, node_id)
        class_path = getattr(executor, "class_path", "") or executor.python_executor_spec.class_path
        modules.add(class_path.rsplit(".", 1)[0])
    return ", ".join([RUNNER_FLOOR, *sorted(modules)])


def import_seconds(code: str = "import pipelines.factory") -> float:
    """Seconds for a fresh interpreter to run `code` (by default: import the run path), then exit
    without the interpreter's teardown, as `coursepipe` exits."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", f"{code}; import os; os._exit(0)"], check=True, capture_output=True,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return time.monotonic() - started


def training_stats(summary: dict) -> dict:
    with open(os.path.join(summary["model_run_dir"], "training_stats.json"), encoding="utf-8") as handle:
        return json.load(handle)


def first_epoch(summary: dict) -> tuple[float, float]:
    """(first epoch s, median later epoch s) of the run's Trainer."""
    epochs = training_stats(summary)["epoch_seconds"]
    return epochs[0], statistics.median(epochs[1:]) if len(epochs) > 1 else float("nan")


def spec_files(spec_id: str, directory: str, changed_hparam: str | None = "l2") -> tuple[str, str | None]:
    """The shipped spec, and a copy whose only change is the model's `changed_hparam` (none
    without one)."""
    from pipelines.spec.pipeline_spec import PipelineSpec, load_spec

    spec = load_spec(spec_id)
    variants = [("spec", spec)]
    if changed_hparam is not None:
        data = spec.model_dump(mode="json")
        if changed_hparam not in data["model"]["hparams"]:
            raise SystemExit(f"{spec_id}: its model has no {changed_hparam!r} hyperparameter to change; pick another --spec")
        data["model"]["hparams"] = {**data["model"]["hparams"],
                                    changed_hparam: data["model"]["hparams"][changed_hparam] + 0.001}
        variants.append(("changed", PipelineSpec.from_dict(data)))
    paths = []
    for name, variant in variants:
        path = os.path.join(directory, f"{spec_id}-{name}.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(variant.to_yaml())
        paths.append(path)
    return paths[0], paths[1] if len(paths) > 1 else None


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        sys.exit(worker(sys.argv[2], sys.argv[3:]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="iris_softmax", help="a spec whose model takes an `l2` hyperparameter")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    configure_logging()
    work = tempfile.mkdtemp(prefix="bench-pipeline-runs-")
    spec_file, changed_file = spec_files(args.spec, work)
    results: dict[str, dict[str, list]] = {}
    for repeat in range(args.repeats):
        for variant in args.variants.split(","):
            output = os.path.join(work, f"{variant}-{repeat}")
            rows = results.setdefault(variant, {"cold": [], "warm": [], "hparams": [], "tmp_mb": [],
                                                "executed": [], "warm_executed": [], "epochs": [], "rss": []})
            cold = timed_run(variant, spec_file, output)
            warm = timed_run(variant, spec_file, output)
            changed = timed_run(variant, changed_file, output)
            rows["cold"].append(cold["seconds"])
            rows["warm"].append(warm["seconds"])
            rows["hparams"].append(changed["seconds"])
            rows["tmp_mb"].append(cold["tmp_mb"])
            rows["warm_executed"].append(len(warm["summary"]["executed"]))
            rows["executed"].append(sorted(changed["summary"]["executed"]))
            rows["epochs"].append(first_epoch(cold["summary"]))
            rows["rss"].append(cold["peak_rss_mb"])
            logger.info("%s repeat %d: cold %.1f s, warm %.1f s, hparams %.1f s (%s)", variant, repeat,
                        cold["seconds"], warm["seconds"], changed["seconds"], ", ".join(rows["executed"][-1]))
    imports = statistics.median(import_seconds() for _ in range(3))
    floor = statistics.median(import_seconds(RUNNER_FLOOR) for _ in range(3))
    logger.info("\n| variant | cold s | warm s | warm / cold | executed warm | hparams-only s "
                "| executed on hparams change | TMPDIR MB left by a cold run | cold run's peak RSS MB |")
    logger.info("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for variant, rows in results.items():
        cold, warm = statistics.median(rows["cold"]), statistics.median(rows["warm"])
        logger.info("| %s | %.1f | %.1f | %.2f | %d | %.1f | %s | %.0f | %.0f |", variant, cold, warm, warm / cold,
                    max(rows["warm_executed"]), statistics.median(rows["hparams"]),
                    ", ".join(rows["executed"][-1]), statistics.median(rows["tmp_mb"]), statistics.median(rows["rss"]))
    first = [epoch[0] for rows in results.values() for epoch in rows["epochs"]]
    later = [epoch[1] for rows in results.values() for epoch in rows["epochs"]]
    logger.info("\ncold start: `import pipelines.factory` %.1f s (median of 3); Trainer's first epoch %.2f s "
                "vs %.4f s for each later one (medians over the cold runs)", imports,
                statistics.median(first), statistics.median(later))
    logger.info("floor of a warm run: importing TensorFlow, Beam, TFMA and TFX's local runner takes %.1f s "
                "(median of 3) before the runner looks at its cache", floor)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
