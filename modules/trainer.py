"""The one `run_fn` every pipeline's Trainer runs: fn_args -> datasets -> build -> fit -> export.

It stays thin: the model comes from the registry, the training options from the spec section that
`make_trainer_custom_config` put into the Trainer's `custom_config`.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import resource
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs
from tfx_bsl.public import tfxio

from modules.accelerators import device_names, distribution_strategy, precision_policy, with_float32_outputs
from modules.curves import EpochHistory, write_curves
from modules.export import export_generator, export_serving_model
from modules.features import transformed_name
from modules.fitting import KERAS_FIT_STYLES, ThroughputMeter, compile_model, fit, per_example_loss, timed
from modules.inputs import flatten_batch, model_input
from modules.registry import build_model, model_input_shape
from modules.samples import SampleGrid
from modules.spec_sections import (
    GAN_STYLES,
    LEARNING_RATE,
    ModelConfig,
    ScaleLike,
    TrainingConfig,
    TransformConfig,
    searched_values,
)
from modules.warm_start import record_warm_start, save_for_warm_start, warm_start

logger = logging.getLogger(__name__)

TRAINING_STATS_FILE = "training_stats.json"
CLASS_NAMES_KEY = "class_names"
CHECKPOINT_DIR = "checkpoints"
# The Trainer reads ExampleGen's raw examples and applies the transform graph itself
# (`transform.materialize: false`).
RAW_EXAMPLES_KEY = "raw_examples"


def make_trainer_custom_config(
    transform: TransformConfig, model: ModelConfig, training: TrainingConfig, label: str | None,
    class_names: Sequence[str] = (),
) -> dict[str, Any]:
    """The Trainer's `custom_config`: the spec sections `run_fn` needs, as plain JSON values.

    `target` is what the model trains against: the raw label, or Transform's one-hot of it.
    `class_names` (a label read as names) make serving answer with the names too.
    `raw_examples` (`transform.materialize: false`): the examples are ExampleGen's, and
    `make_dataset` applies the transform graph.
    """
    config = {
        "features": list(transform.features),
        "label": label,
        "target": transformed_name(label) if (label and transform.label is not None) else label,
        "scaled_label": isinstance(transform.label, ScaleLike),
        "model": model.model_dump(mode="json"),
        "training": training.model_dump(mode="json"),
    }
    if class_names:
        config[CLASS_NAMES_KEY] = list(class_names)
    if not transform.materialize:
        config[RAW_EXAMPLES_KEY] = True
    return config


def make_dataset(
    file_pattern: Sequence[str],
    data_accessor: DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    features: Sequence[str],
    label: str | None,
    batch_size: int,
    repeat: bool,
    shuffle: bool,
    seed: int | None,
    reconstruct: bool = False,
    raw_examples: bool = False,
) -> tf.data.Dataset:
    """Batches of (model input, label) from the examples' TFRecords, parsed (and transformed) once.

    The examples are read and parsed here, once, and kept in memory; each epoch
    reshuffles all of them, as Keras' `fit(shuffle=True)` does with the course's arrays (TFXIO's own
    shuffle re-reads the files every epoch and shuffles within a buffer only); a shuffled epoch
    states its number of batches, so `fit` can run every epoch through one iterator
    (`modules.fitting.fit_keras`). Without a `label` (unlabelled pictures) the batches hold the
    model input alone. With `raw_examples` the files are ExampleGen's: parsed by the raw schema and
    transformed by Transform's graph here, as serving does, once (the cache keeps the result).
    """
    metadata = tf_transform_output.raw_metadata if raw_examples else tf_transform_output.transformed_metadata
    parsed = data_accessor.tf_dataset_factory(
        file_pattern, tfxio.TensorFlowDatasetOptions(batch_size=1024, num_epochs=1, shuffle=False), metadata.schema
    )
    if raw_examples:
        parsed = parsed.map(tf_transform_output.transform_features_layer())

    def to_pair(transformed: Mapping[str, tf.Tensor]) -> Any:
        x = model_input(transformed, features)
        if reconstruct:
            return x, flatten_batch(x)
        return (x, transformed[label]) if label else x

    examples = parsed.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE).unbatch().cache()
    return batches_of(examples, batch_size, repeat=repeat, shuffle=shuffle, seed=seed)


def batches_of(cached: tf.data.Dataset, batch_size: int, repeat: bool, shuffle: bool,
               seed: int | None) -> tf.data.Dataset:
    """The batches `fit` reads from examples kept in memory (`cached` ends in `.cache()`).

    One pass now fills the cache, so `fit` reads memory from its first batch and its first
    validation on, as a plain script's arrays are loaded before `fit`. A shuffled split reshuffles
    all its examples each epoch and states its length (`modules.fitting.epochs_of`).
    """
    count = int(cached.reduce(0, lambda n, _: n + 1))
    examples = cached
    if shuffle:
        examples = examples.shuffle(max(count, 1), seed=seed, reshuffle_each_iteration=True)
        examples = examples.apply(tf.data.experimental.assert_cardinality(count))
    if repeat:
        examples = examples.repeat()
    return examples.batch(batch_size).prefetch(tf.data.AUTOTUNE)


@dataclass
class TrainedModel:
    """What `train_model` leaves: the fitted model, its per-epoch history and how fast it trained."""

    model: keras.Model
    history: EpochHistory
    stats: dict[str, Any]


def train_model(
    model_config: ModelConfig,
    training: TrainingConfig,
    train_dataset: tf.data.Dataset,
    eval_dataset: tf.data.Dataset,
    model_run_dir: str,
    steps: int | None = None,
    base_model: str | None = None,
) -> TrainedModel:
    """Builds the registry's model on every visible GPU (or the CPU) and fits it as the spec says.

    Writes into `model_run_dir`: TensorBoard logs (`logs/`), the best weights when the spec keeps a
    checkpoint (`checkpoints/best*`), the course's curves and `training_stats.json`; with
    `training.warm_start`, what the model started from (`warm_start.json`, from `base_model`).
    """
    strategy = distribution_strategy()
    with precision_policy(training.accelerator) as policy, strategy.scope():
        model = build_model(model_config.name, model_config.hparams)
        if training.accelerator.mixed_precision and training.style not in GAN_STYLES:  # a GAN's outputs are float32
            model = with_float32_outputs(model, model_input_shape(model_config))
        compile_model(model, training)
        if training.warm_start:
            record_warm_start(warm_start(model, base_model), model_run_dir)
    model.summary(print_fn=logger.info)

    meter = ThroughputMeter(training.batch_size)
    callbacks: list[keras.callbacks.Callback] = []
    checkpoint_path = os.path.join(model_run_dir, CHECKPOINT_DIR, "best")
    if training.style in KERAS_FIT_STYLES:  # the hand-written loop runs no Keras callbacks
        callbacks += [meter, keras.callbacks.TensorBoard(os.path.join(model_run_dir, "logs"))]
        if training.style in GAN_STYLES:
            callbacks.append(SampleGrid(model_run_dir, model.z_dim, training.sample_every))
        if training.checkpoint is not None:
            callbacks.append(keras.callbacks.ModelCheckpoint(
                checkpoint_path, monitor=training.checkpoint.monitor,
                save_best_only=True, save_weights_only=True))

    with timed() as fit_time:
        history = fit(model, training, train_dataset, eval_dataset, steps=steps, callbacks=callbacks)
    if training.checkpoint is not None and training.checkpoint.export == "best":
        if tf.io.gfile.exists(checkpoint_path + ".index"):
            model.load_weights(checkpoint_path)
            logger.info("exporting the best weights by %s (%s)", training.checkpoint.monitor, checkpoint_path)
        else:
            logger.warning("no checkpoint was written (was %s logged?): exporting the last weights",
                           training.checkpoint.monitor)

    stats = {
        "model": model_config.name,
        "devices": device_names(strategy),
        "precision_policy": policy,
        "xla": training.accelerator.xla,
        "training_seconds": round(fit_time.seconds, 3),
        "training_cpu_seconds": round(fit_time.cpu_seconds, 3),  # see `modules.fitting.FitTime`
        "examples_per_second": round(meter.examples_per_second(), 1),
        "examples_per_second_after_first_epoch": round(meter.examples_per_second(skip_first_epoch=True), 1),
        "epoch_seconds": [round(s, 3) for s in meter.epoch_seconds],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    logger.info("training took %.2f s, %.2f s of CPU (%.1f examples/s on %s, %s); process peak memory %.0f MB",
                fit_time.seconds, fit_time.cpu_seconds, stats["examples_per_second"], ", ".join(stats["devices"]), policy,
                stats["peak_rss_mb"])
    os.makedirs(model_run_dir, exist_ok=True)
    with open(os.path.join(model_run_dir, TRAINING_STATS_FILE), "w", encoding="utf-8") as handle:
        json.dump(stats, handle, indent=1)
    write_curves(history, model_run_dir, title=model_config.name)
    return TrainedModel(model, history, stats)


@dataclass(frozen=True)
class TrainerInputs:
    """What `run_fn` and the Tuner's `tuner_fn` read from the Trainer's custom_config and fn_args."""

    training: TrainingConfig
    model: ModelConfig
    features: list[str]
    label: str  # empty: unlabelled data
    train: tf.data.Dataset
    eval: tf.data.Dataset
    tf_transform_output: tft.TFTransformOutput


def trainer_inputs(fn_args: FnArgs) -> TrainerInputs:
    """The spec's sections and the transformed train/eval datasets, as the spec batches them."""
    config: Mapping[str, Any] = fn_args.custom_config
    training = TrainingConfig.model_validate(config["training"])
    label: str = config["label"]
    target: str = config.get("target") or label
    features: list[str] = config["features"]
    if training.seed is not None:
        keras.utils.set_random_seed(training.seed)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path or fn_args.transform_output)
    by_epoch = training.epochs is not None

    def dataset(files: Sequence[str], train: bool) -> tf.data.Dataset:
        return make_dataset(
            files,
            fn_args.data_accessor,
            tf_transform_output,
            features,
            target,
            training.batch_size,
            repeat=train and not by_epoch,
            shuffle=train,
            seed=training.seed,
            reconstruct=training.target == "input",
            raw_examples=bool(config.get(RAW_EXAMPLES_KEY)),
        )

    return TrainerInputs(training, ModelConfig.model_validate(config["model"]), features, label,
                         dataset(fn_args.train_files, train=True), dataset(fn_args.eval_files, train=False),
                         tf_transform_output)


def with_tuned_hyperparameters(inputs: TrainerInputs, hyperparameters: Mapping[str, Any] | None) -> TrainerInputs:
    """The Tuner's winner (a KerasTuner HyperParameters config) over the spec's hparams and
    learning rate; unchanged without one."""
    if not hyperparameters:
        return inputs
    values = searched_values(hyperparameters.get("values", {}))
    learning_rate = values.pop(LEARNING_RATE, None)
    model = inputs.model.model_copy(update={"hparams": {**inputs.model.hparams, **values}})
    training = inputs.training
    if learning_rate is not None:
        training = training.model_copy(
            update={"optimizer": training.optimizer.model_copy(update={"learning_rate": float(learning_rate)})})
    logger.info("training with the tuned hyperparameters %s%s", values,
                f", learning rate {learning_rate}" if learning_rate is not None else "")
    return dataclasses.replace(inputs, model=model, training=training)


def run_fn(fn_args: FnArgs) -> None:
    """TFX Trainer entry point (`run_fn='modules.trainer.run_fn'`)."""
    config: Mapping[str, Any] = fn_args.custom_config
    inputs = with_tuned_hyperparameters(trainer_inputs(fn_args), fn_args.hyperparameters)
    training = inputs.training
    trained = train_model(
        inputs.model, training, inputs.train, inputs.eval, fn_args.model_run_dir,
        steps=None if training.epochs is not None else fn_args.train_steps, base_model=fn_args.base_model,
    )
    save_for_warm_start(trained.model, fn_args.serving_model_dir)
    if training.style in GAN_STYLES:
        export_generator(trained.model.generator, fn_args.serving_model_dir)
        return
    export_serving_model(
        trained.model, inputs.tf_transform_output, fn_args.serving_model_dir, inputs.features, inputs.label,
        reconstruction_loss=per_example_loss(training) if training.target == "input" else None,
        scaled_label=bool(config.get("scaled_label")),
        class_names=config.get(CLASS_NAMES_KEY, ()),
    )
