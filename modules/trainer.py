"""The one `run_fn` every pipeline's Trainer runs: fn_args -> datasets -> build -> fit -> export.

It stays thin: the model comes from the registry, the training options from the spec section that
`make_trainer_custom_config` put into the Trainer's `custom_config`.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Mapping, Sequence

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from modules.config import ModelConfig, TrainingConfig, TransformConfig
from modules.export import export_serving_model
from modules.curves import write_curves
from modules.features import transformed_name
from modules.inputs import flatten_batch, model_input
from modules.registry import build_model
from modules.training import compile_model, fit, per_example_loss

logger = logging.getLogger(__name__)

def make_trainer_custom_config(
    transform: TransformConfig, model: ModelConfig, training: TrainingConfig, label: str | None
) -> dict[str, Any]:
    """The Trainer's `custom_config`: the spec sections `run_fn` needs, as plain JSON values.

    `target` is what the model trains against: the raw label, or Transform's one-hot of it.
    """
    return {
        "features": list(transform.features),
        "label": label,
        "target": transformed_name(label) if (label and transform.label is not None) else label,
        "model": model.model_dump(mode="json"),
        "training": training.model_dump(mode="json"),
    }


def make_dataset(
    file_pattern: Sequence[str],
    data_accessor: tfx.components.DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    features: Sequence[str],
    label: str,
    batch_size: int,
    repeat: bool,
    shuffle: bool,
    seed: int | None,
    reconstruct: bool = False,
) -> tf.data.Dataset:
    """Batches of (model input, label) from Transform's output TFRecords, parsed once.

    The examples are read and parsed on the first pass and kept in memory; each later epoch
    reshuffles all of them, as Keras' `fit(shuffle=True)` does with the course's arrays (TFXIO's own
    shuffle re-reads the files every epoch and shuffles within a buffer only).
    """
    parsed = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=1024, label_key=label, num_epochs=1, shuffle=False),
        tf_transform_output.transformed_metadata.schema,
    )
    def to_pair(transformed: Mapping[str, tf.Tensor], y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = model_input(transformed, features)
        return (x, flatten_batch(x)) if reconstruct else (x, y)

    examples = parsed.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE).unbatch().cache()
    if shuffle:
        count = int(examples.reduce(0, lambda n, _: n + 1))  # fills the cache
        examples = examples.shuffle(max(count, 1), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        examples = examples.repeat()
    return examples.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point (`run_fn='modules.trainer.run_fn'`)."""
    config: Mapping[str, Any] = fn_args.custom_config
    training = TrainingConfig.model_validate(config["training"])
    model_config = ModelConfig.model_validate(config["model"])
    features: list[str] = config["features"]
    label: str = config["label"]
    target: str = config.get("target") or label
    if training.seed is not None:
        keras.utils.set_random_seed(training.seed)

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
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
        )

    train_dataset = dataset(fn_args.train_files, train=True)
    eval_dataset = dataset(fn_args.eval_files, train=False)

    model = build_model(model_config.name, model_config.hparams)
    compile_model(model, training)
    model.summary(print_fn=logger.info)

    # TensorBoard for Keras fit (the hand-written loop has no callbacks); the course's curves for both.
    tensorboard = [keras.callbacks.TensorBoard(os.path.join(fn_args.model_run_dir, "logs"))] if training.style == "fit" else []
    started = time.perf_counter()
    history = fit(model, training, train_dataset, eval_dataset,
                  steps=None if by_epoch else fn_args.train_steps, callbacks=tensorboard)
    logger.info("training took %.2f s", time.perf_counter() - started)
    write_curves(history, fn_args.model_run_dir, title=model_config.name)

    export_serving_model(
        model, tf_transform_output, fn_args.serving_model_dir, features, label,
        reconstruction_loss=per_example_loss(training) if training.target == "input" else None,
    )
