"""Each course model twice on the same data and split: through its pipeline, and as a plain Keras
script of the course's code. Prints the eval metric of both (mean and spread over seeds), the
course's figure, and the training times and their ratio.

The plain script reads the same records (the course's split, from `components.sources`), applies
the spec's preprocessing in NumPy (z-scores from the training split, / 255, one-hot targets),
builds the course's model inline and calls `fit`. The pipeline side is `run_local` on the spec;
its training time is the `fit` inside the Trainer (logged by `modules.trainer`), so both times
cover the same work. `pipeline run s` is the whole `run_local` (ExampleGen to Pusher), `plain script s`
the whole plain side (read, preprocess, build, fit, score), both in this process after imports.
Each fit is also timed in CPU seconds of the process (less stretched than wall time when other
tenants load the machine), and the two sides swap order every repeat.
`mnist_mlp_full` runs mnist_mlp on 70,000 synthetic images in Keras' `mnist.npz` (full MNIST's
size; random pixels and labels, so its metric means nothing, its times do).

    python -m benchmarks.pipeline_vs_keras [--repeats 3] [--models iris_softmax,digits_mlp,...]
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tf_keras as keras

from benchmarks.logs import configure_logging
from components.sources import get_source, locate
from components.splits import EVAL_SPLIT, TRAIN_SPLIT, apply_split
from modules.fitting import FitTime, compile_model, timed
from pipelines.runs.local_runner import run_local
from pipelines.runs.summary import latest_run_summary
from pipelines.spec.pipeline_spec import PipelineSpec, load_spec

logger = logging.getLogger("benchmarks.pipeline_vs_keras")

OUTSIDE_THE_STEPS = "(outside the steps)"


@dataclass(frozen=True)
class Case:
    spec_id: str
    source: str | None  # another source with the same features (mnist_5k for mnist)
    course_figure: str
    build: Callable[[], keras.Model]  # the course's model, written as the course writes it
    augment: bool = False  # fit through the course's ImageDataGenerator (004 M14)
    synthetic_mnist: bool = False  # 70,000 synthetic images in Keras' mnist.npz, full MNIST's size


class MyDense(keras.layers.Layer):
    """002, as the course writes it."""

    def __init__(self, inp_dim: int, outp_dim: int) -> None:
        super().__init__()
        self.kernel = self.add_weight("w", [inp_dim, outp_dim])
        self.bias = self.add_weight("b", [outp_dim])

    def call(self, inputs, training=None):
        return inputs @ self.kernel + self.bias


class MyModel(keras.Model):
    """002, as the course writes it (the input flattened first, as the course's preprocessing does)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = MyDense(28 * 28, 256), MyDense(256, 128), MyDense(128, 64)
        self.fc4, self.fc5 = MyDense(64, 32), MyDense(32, 10)

    def call(self, inputs, training=None):
        import tensorflow as tf

        x = tf.reshape(inputs, [-1, 28 * 28])
        for layer in (self.fc1, self.fc2, self.fc3, self.fc4):
            x = tf.nn.relu(layer(x))
        return self.fc5(x)


def _mlp5(dropout: float | None = None) -> keras.Model:
    layers = [keras.layers.Flatten(), keras.layers.Dense(256, activation="relu")]
    layers += [keras.layers.Dropout(dropout)] if dropout else []
    layers += [keras.layers.Dense(128, activation="relu")]
    layers += [keras.layers.Dropout(dropout)] if dropout else []
    layers += [keras.layers.Dense(64, activation="relu"), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    return keras.Sequential(layers)


def _mnist_mlp() -> keras.Model:
    return keras.Sequential([
        keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")])


CASES = {
    "iris_softmax": Case("iris_softmax", None, "val acc 1.0 (median 0.967 over seeds)", lambda: keras.Sequential([
        keras.layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.l2())])),
    # 003 initializes every weight and bias with tf.random.normal (stddev 1).
    "digits_mlp": Case("digits_mlp", None, "-", lambda: keras.Sequential([
        keras.layers.Dense(30, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                           bias_initializer=keras.initializers.RandomNormal(stddev=1.0)),
        keras.layers.Dense(10, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                           bias_initializer=keras.initializers.RandomNormal(stddev=1.0))])),
    "boston_mlp": Case("boston_mlp", None, "-", lambda: keras.Sequential([
        keras.layers.Dense(64, activation="relu"), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])),
    "mnist_mlp": Case("mnist_mlp", "mnist_5k", "val acc 0.9776 (full MNIST)", _mnist_mlp),
    "mnist_mlp_full": Case("mnist_mlp", None, "val acc 0.9776 (real MNIST; these images are random)", _mnist_mlp,
                           synthetic_mnist=True),
    "mnist_mlp5": Case("mnist_mlp5", "mnist_5k", "test acc 0.9757 (full MNIST)", _mlp5),
    "mnist_dropout": Case("mnist_dropout", "mnist_5k", "-", lambda: _mlp5(dropout=0.5)),
    "mnist_custom_dense": Case("mnist_custom_dense", "mnist_5k", "-", MyModel),
    "mnist_augmented": Case("mnist_augmented", "mnist_5k", "-", _mnist_mlp, augment=True),
}


def spec_for(case: Case, seed: int, data_dir: str | None = None) -> PipelineSpec:
    data = load_spec(case.spec_id).model_dump(mode="json")
    if case.source:
        data["data"] = {**data["data"], "source": case.source, "split": None}
    if data_dir:
        data["data"] = {**data["data"], "path": data_dir}
    data["training"]["seed"] = seed
    data["evaluation"]["lower_bound"] = None  # measure, do not gate
    data["evaluation"]["upper_bound"] = None
    return PipelineSpec.from_dict(data)


def _arrays(spec: PipelineSpec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The spec's train/eval split as the model input and raw label, preprocessed as the spec says."""
    source = get_source(spec.data.source)
    files = locate(source, spec.data.path).local_files()
    splits = apply_split(spec.data.split or source.default_split, source.read(files, source.parse_options(spec.data.options)))
    features = spec.data.feature_set()
    arrays = {}
    for split in (TRAIN_SPLIT, EVAL_SPLIT):
        columns = []
        for name in spec.transform.features:
            values = np.stack([np.asarray(r[name], dtype=np.float32) for r in splits[split]])
            columns.append(values.reshape(len(values), -1) if len(spec.transform.features) > 1 else values)
        x = np.concatenate([c.reshape(len(c), -1) for c in columns], axis=1) if len(columns) > 1 else columns[0]
        y = np.array([r[features.label] for r in splits[split]])
        arrays[split] = (x, y)
    transforms = list(spec.transform.features.values())
    x_train, _ = arrays[TRAIN_SPLIT]
    kind = transforms[0].kind
    if kind == "zscore":
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        arrays = {k: ((x - mean) / std, y) for k, (x, y) in arrays.items()}
    elif kind == "divide":
        arrays = {k: (x / transforms[0].divisor, y) for k, (x, y) in arrays.items()}
    return arrays


def _score(spec: PipelineSpec, model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    predictions = model.predict(x, verbose=0)
    if spec.evaluation.metric == "sparse_categorical_accuracy":
        return float(np.mean(predictions.argmax(axis=1) == y))
    errors = predictions.reshape(-1) - y.astype(np.float32)
    return float(np.mean(np.abs(errors)) if spec.evaluation.metric == "mean_absolute_error" else np.mean(errors ** 2))


def plain_keras(case: Case, spec: PipelineSpec, seed: int) -> tuple[float, FitTime]:
    """(metric, fit time) of the course's script on the same split (the caller times the whole)."""
    keras.utils.set_random_seed(seed)
    arrays = _arrays(spec)
    (x_train, y_train), (x_eval, y_eval) = arrays[TRAIN_SPLIT], arrays[EVAL_SPLIT]
    target_train, target_eval = y_train, y_eval
    if spec.transform.label is not None:
        target_train = np.eye(spec.transform.label.depth, dtype=np.float32)[y_train]
        target_eval = np.eye(spec.transform.label.depth, dtype=np.float32)[y_eval]
    model = case.build()
    compile_model(model, spec.training)  # the spec's optimizer, loss, metrics
    with timed() as fit_time:
        if case.augment:
            # 004 M14: ImageDataGenerator(rescale=1. / 1., rotation_range=45, width_shift_range=.15,
            # height_shift_range=.15, horizontal_flip=False, zoom_range=0.5) on (n, 28, 28, 1) arrays.
            generator = keras.preprocessing.image.ImageDataGenerator(
                rescale=1.0, rotation_range=45, width_shift_range=0.15, height_shift_range=0.15,
                horizontal_flip=False, zoom_range=0.5)
            images = x_train.reshape(-1, 28, 28, 1)
            generator.fit(images)
            model.fit(generator.flow(images, target_train, batch_size=spec.training.batch_size, seed=seed),
                      epochs=spec.training.epochs, validation_data=(x_eval.reshape(-1, 28, 28, 1), target_eval),
                      validation_freq=spec.training.validation_freq, verbose=0)
        else:
            model.fit(x_train, target_train, batch_size=spec.training.batch_size, epochs=spec.training.epochs,
                      validation_data=(x_eval, target_eval), validation_freq=spec.training.validation_freq, verbose=0)
    return _score(spec, model, x_eval.reshape(-1, 28, 28, 1) if case.augment else x_eval, y_eval), fit_time


class _RunTimes(logging.Handler):
    """The Trainer's fit time and each executed step's seconds, from the run's own log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.fit = FitTime()  # NaN until the Trainer logs its fit
        self.step_seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if match := re.match(r"training took ([0-9.]+) s, ([0-9.]+) s of CPU", message):
            self.fit = FitTime(float(match.group(1)), float(match.group(2)))
        elif match := re.match(r"\[\d+/\d+\] (\S+) executed in ([0-9.]+) s", message):
            self.step_seconds[match.group(1)] = float(match.group(2))


def pipeline(spec: PipelineSpec, work_dir: str) -> tuple[float, FitTime, float, dict[str, float]]:
    """(metric, Trainer fit time, whole pipeline seconds, seconds per executed step) of a cold
    local run."""
    handler = _RunTimes()
    loggers = [logging.getLogger("modules.trainer"), logging.getLogger("pipelines.runs.progress")]
    for source in loggers:
        source.addHandler(handler)
        source.setLevel(logging.INFO)
    try:
        started = time.perf_counter()
        layout = run_local(spec, work_dir)
        wall = time.perf_counter() - started
    finally:
        for source in loggers:
            source.removeHandler(handler)
    summary = latest_run_summary(layout.metadata_path)
    return summary.metrics[spec.evaluation.metric], handler.fit, wall, handler.step_seconds


@dataclass(frozen=True)
class SideBySide:
    """One repeat: the pipeline's cold run and the plain script, on the same data and seed."""

    pipeline_metric: float
    pipeline_fit: FitTime
    pipeline_seconds: float  # the whole run_local
    step_seconds: dict[str, float]
    plain_metric: float
    plain_fit: FitTime
    plain_seconds: float  # the whole plain script


def side_by_side(case: Case, spec: PipelineSpec, work_dir: str, repeat: int) -> SideBySide:
    """Both sides once, the plain script first in odd repeats, so that a machine getting busier or
    quieter during a benchmark does not always favour the same side."""

    def plain() -> tuple[float, FitTime, float]:
        started = time.perf_counter()
        metric, fit_time = plain_keras(case, spec, seed=spec.training.seed or 0)
        return metric, fit_time, time.perf_counter() - started

    plain_result = plain() if repeat % 2 else None
    metric, fit_time, wall, steps = pipeline(spec, work_dir)
    plain_metric, plain_fit, plain_wall = plain_result or plain()
    logger.info("%s repeat %d: pipeline %.4f (fit %.1f s, %.1f s of CPU), plain %.4f (fit %.1f s, %.1f s of CPU)",
                case.spec_id, repeat, metric, fit_time.seconds, fit_time.cpu_seconds, plain_metric,
                plain_fit.seconds, plain_fit.cpu_seconds)
    return SideBySide(metric, fit_time, wall, steps, plain_metric, plain_fit, plain_wall)


def fit_medians(repeats: Sequence[SideBySide]) -> tuple[float, float, float, float, float, float]:
    """Median fit seconds (pipeline, plain, ratio), then median fit CPU seconds (the same three)."""
    medians = []
    for measure in ("seconds", "cpu_seconds"):
        pipeline_median = statistics.median(getattr(r.pipeline_fit, measure) for r in repeats)
        plain_median = statistics.median(getattr(r.plain_fit, measure) for r in repeats)
        medians += [pipeline_median, plain_median, pipeline_median / plain_median]
    return tuple(medians)


@dataclass(frozen=True)
class FastestFits:
    """Each side's fastest fit of the repeats. Other tenants of a shared machine only ever add time,
    so the fastest of N repeats is each side's least-disturbed figure (timeit's rule); `plain_spread`
    (the plain script's slowest fit over its fastest, the same work every repeat) says how much they
    added in this run."""

    pipeline_seconds: float
    plain_seconds: float
    pipeline_cpu_seconds: float
    plain_cpu_seconds: float
    plain_spread: float

    @property
    def ratio(self) -> float:
        return self.pipeline_seconds / self.plain_seconds

    @property
    def cpu_ratio(self) -> float:
        return self.pipeline_cpu_seconds / self.plain_cpu_seconds


def fastest_fits(repeats: Sequence[SideBySide]) -> FastestFits:
    plain = [r.plain_fit.seconds for r in repeats]
    return FastestFits(min(r.pipeline_fit.seconds for r in repeats), min(plain),
                       min(r.pipeline_fit.cpu_seconds for r in repeats), min(r.plain_fit.cpu_seconds for r in repeats),
                       max(plain) / min(plain))


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(CASES))
    args = parser.parse_args()
    configure_logging()
    rows = []
    step_times: dict[str, dict[str, list[float]]] = {}  # model -> step -> seconds per repeat
    with tempfile.TemporaryDirectory() as temp_dir:
        for name in args.models.split(","):
            case = CASES[name]
            data_dir = None
            if case.synthetic_mnist:
                from benchmarks.import_throughput import write_mnist

                data_dir = os.path.join(temp_dir, f"{name}-data")
                os.makedirs(data_dir)
                write_mnist(data_dir, 70_000)
            repeats = [side_by_side(case, spec_for(case, seed=100 + repeat, data_dir=data_dir),
                                    os.path.join(temp_dir, f"{name}-{repeat}"), repeat)
                       for repeat in range(args.repeats)]
            for repeat in repeats:
                times = step_times.setdefault(name, {})
                for step, step_seconds in repeat.step_seconds.items():
                    times.setdefault(step, []).append(step_seconds)
                times.setdefault(OUTSIDE_THE_STEPS, []).append(repeat.pipeline_seconds - sum(repeat.step_seconds.values()))
            spec = spec_for(case, seed=100, data_dir=data_dir)
            rows.append((name, spec.data.source, spec.evaluation.metric, case.course_figure,
                         _spread([r.pipeline_metric for r in repeats]), _spread([r.plain_metric for r in repeats]),
                         *fit_medians(repeats),
                         statistics.median(r.pipeline_seconds for r in repeats),
                         statistics.median(r.plain_seconds for r in repeats)))
    logger.info("%d repeats (seeds 100..), medians of times; %d CPU cores", args.repeats, os.cpu_count() or 0)
    logger.info("| model | data | metric | course | pipeline | plain Keras | fit s, pipeline | fit s, Keras | ratio "
                "| fit CPU s, pipeline | fit CPU s, Keras | CPU ratio | pipeline run s | plain script s |")
    logger.info("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        logger.info("| %s | %s | %s | %s | %s | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.0f | %.0f |", *row)
    _log_step_shares(rows, step_times)


def _log_step_shares(rows: list[tuple], step_times: dict[str, dict[str, list[float]]]) -> None:
    """Where each pipeline run's time goes: median seconds per executed step, and its share of the
    run's wall time; the rest (building the pipeline, the runner, resolvers, cache lookups) is
    taken per repeat, then its median."""
    logger.info("")
    logger.info("| model | step | s (median) | share of pipeline run |")
    logger.info("|---|---|---:|---:|")
    for row in rows:
        name, wall = row[0], row[12]
        steps = {step: statistics.median(values) for step, values in step_times.get(name, {}).items()}
        rest = steps.pop(OUTSIDE_THE_STEPS, 0.0)
        for step, seconds in [*sorted(steps.items(), key=lambda item: -item[1]), (OUTSIDE_THE_STEPS, rest)]:
            if seconds >= 0.05 or step == OUTSIDE_THE_STEPS:
                logger.info("| %s | %s | %.1f | %.0f %% |", name, step, seconds, 100 * seconds / wall)


if __name__ == "__main__":
    main()
