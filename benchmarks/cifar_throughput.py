"""Training throughput of the CIFAR models inside the Trainer vs a plain Keras script, same data.

Both sides train the same registry model (identical layers and weights count) with the spec's
optimizer, loss, batch size and epochs, on the same synthetic CIFAR-10/100 files (the real
archive layout, written once), and are timed by the same `ThroughputMeter` (time on training
batches, validation left out). The Trainer's figure is read from the `training_stats.json` it
writes; the plain script is `model.fit` on NumPy arrays, `x / 255`.

Every run is its own process, so peak memory (ru_maxrss) is that side's own. The first pipeline
run of a model also runs ExampleGen, StatisticsGen and Transform in that process; later repeats
change only the seed, so those come from cache and the process's peak is the Trainer's (the table
reports the peak of the last repeat). Runs alternate pipeline / plain to share the machine's noise.

    python -m benchmarks.cifar_throughput [--models cifar10_baseline,...] [--repeats 3]
        [--train-images 1024] [--epochs 2]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.logs import configure_logging
from benchmarks.workers import run_worker

logger = logging.getLogger("benchmarks.cifar_throughput")

MODELS = (
    "cifar10_baseline", "cifar10_lenet5", "cifar10_alexnet8", "cifar10_vgg16",
    "cifar10_inception10", "cifar10_resnet18", "cifar100_vgg13", "cifar100_resnet18",
)


def write_synthetic_cifar(directory: str, train_images: int, test_images: int) -> None:
    """CIFAR-10 (five training batches + test_batch) and CIFAR-100 (train, test) pickles."""
    import pickle  # writing our own files; reading goes through restricted_load

    rng = np.random.default_rng(0)

    def batch(n: int, label_key: bytes, classes: int) -> dict[bytes, object]:
        return {b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
                label_key: rng.integers(0, classes, size=n).tolist()}

    cifar10 = os.path.join(directory, "cifar10", "cifar-10-batches-py")
    cifar100 = os.path.join(directory, "cifar100", "cifar-100-python")
    os.makedirs(cifar10)
    os.makedirs(cifar100)
    per_batch = train_images // 5
    batches = {f"data_batch_{i}": batch(per_batch, b"labels", 10) for i in range(1, 6)}
    batches["test_batch"] = batch(test_images, b"labels", 10)
    for name, content in batches.items():
        with open(os.path.join(cifar10, name), "wb") as handle:
            pickle.dump(content, handle, protocol=2)
    for name, n in (("train", per_batch * 5), ("test", test_images)):
        with open(os.path.join(cifar100, name), "wb") as handle:
            pickle.dump(batch(n, b"fine_labels", 100), handle, protocol=2)


def _spec(model: str, epochs: int, seed: int):
    from pipelines.spec.pipeline_spec import PipelineSpec, load_spec

    data = load_spec(model).model_dump(mode="json")
    data["training"].update(epochs=epochs, seed=seed)
    data["evaluation"].update(lower_bound=None, upper_bound=None)  # measure, do not gate
    return PipelineSpec.from_dict(data)


def pipeline_worker(model: str, data_dir: str, root: str, epochs: int, seed: int) -> dict[str, float]:
    """One `run_local` of the spec; the Trainer's own throughput figures."""
    from components.sources import get_source, locate
    from modules.trainer import TRAINING_STATS_FILE
    from pipelines.runs.local_runner import run_local
    from pipelines.runs.summary import latest_run_summary

    spec = _spec(model, epochs, seed)
    layout = run_local(spec, root, data=locate(get_source(spec.data.source), os.path.join(data_dir, spec.data.source)))
    summary = latest_run_summary(layout.metadata_path)
    with open(os.path.join(summary.model_run_dir, TRAINING_STATS_FILE), encoding="utf-8") as handle:
        stats = json.load(handle)
    return {"steady": stats["examples_per_second_after_first_epoch"], "overall": stats["examples_per_second"],
            "peak_mb": stats["peak_rss_mb"]}


def plain_worker(model: str, data_dir: str, epochs: int, seed: int) -> dict[str, float]:
    """The same model as a plain Keras script: arrays / 255, compile, fit."""
    import tf_keras as keras

    from components.sources import get_source, locate
    from components.splits import EVAL_SPLIT, TRAIN_SPLIT
    from modules.fitting import ThroughputMeter, compile_model
    from modules.registry import build_model

    spec = _spec(model, epochs, seed)
    keras.utils.set_random_seed(seed)
    source = get_source(spec.data.source)
    records = source.read(locate(source, os.path.join(data_dir, spec.data.source)).local_files(), source.parse_options({}))
    arrays = {}
    for split in (TRAIN_SPLIT, EVAL_SPLIT):
        x = np.stack([r["image"] for r in records[split]]).astype(np.float32) / 255.0
        y = np.array([r["label"] for r in records[split]])
        if spec.transform.label is not None:
            y = np.eye(spec.transform.label.depth, dtype=np.float32)[y]
        arrays[split] = (x, y)
    model_ = build_model(spec.model.name, spec.model.hparams)
    compile_model(model_, spec.training)
    meter = ThroughputMeter(spec.training.batch_size)
    model_.fit(*arrays[TRAIN_SPLIT], batch_size=spec.training.batch_size, epochs=epochs,
               validation_data=arrays[EVAL_SPLIT], verbose=0, callbacks=[meter])
    return {"steady": meter.examples_per_second(skip_first_epoch=True), "overall": meter.examples_per_second(),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=1024)
    parser.add_argument("--test-images", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        side, model, data_dir, root, epochs, seed = args.worker
        if side == "pipeline":
            result = pipeline_worker(model, data_dir, root, int(epochs), int(seed))
        else:
            result = plain_worker(model, data_dir, int(epochs), int(seed))
        print(json.dumps(result))
        return

    configure_logging()
    rows = []
    with tempfile.TemporaryDirectory() as temp_dir:
        data_dir = os.path.join(temp_dir, "data")
        write_synthetic_cifar(data_dir, args.train_images, args.test_images)
        for model in args.models.split(","):
            results: dict[str, list[dict[str, float]]] = {"pipeline": [], "plain": []}
            root = os.path.join(temp_dir, model)
            for repeat in range(args.repeats):
                for side in ("pipeline", "plain"):
                    results[side].append(run_worker("benchmarks.cifar_throughput", side, model, data_dir, root,
                                                    str(args.epochs), str(100 + repeat)))
                logger.info("%s repeat %d: Trainer %.1f img/s, plain Keras %.1f img/s", model, repeat,
                            results["pipeline"][-1]["steady"], results["plain"][-1]["steady"])
            steady = {side: statistics.median(r["steady"] for r in runs) for side, runs in results.items()}
            overall = {side: statistics.median(r["overall"] for r in runs) for side, runs in results.items()}
            rows.append((model, steady["pipeline"], steady["plain"], steady["pipeline"] / steady["plain"],
                         overall["pipeline"] / overall["plain"],
                         results["pipeline"][-1]["peak_mb"], results["plain"][-1]["peak_mb"]))
    logger.info("%d train images, %d epochs, %d repeats (medians); %d CPU cores; images/s after the first epoch",
                args.train_images, args.epochs, args.repeats, os.cpu_count() or 0)
    logger.info("| model | Trainer img/s | plain Keras img/s | ratio | ratio incl. 1st epoch | Trainer peak MB | plain peak MB |")
    logger.info("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        logger.info("| %s | %.1f | %.1f | %.2f | %.2f | %.0f | %.0f |", *row)


if __name__ == "__main__":
    main()
