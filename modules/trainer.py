"""The one `run_fn` every pipeline's Trainer runs: fn_args -> datasets -> build -> fit -> export.

It stays thin: the model comes from the registry, the training options from the spec section that
`make_trainer_custom_config` put into the Trainer's `custom_config`.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from modules.config import ModelConfig, TrainingConfig, TransformConfig
from modules.export import export_serving_model
from modules.inputs import model_input
from modules.registry import build_model

logger = logging.getLogger(__name__)

_OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
}
_LOSSES = {
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
    "mean_absolute_error": keras.losses.MeanAbsoluteError,
}
_LOSSES_WITH_LOGITS = {
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
}


class EpochLogger(keras.callbacks.Callback):
    """Logs the metrics every `every` epochs (and the last), instead of Keras' line per epoch."""

    def __init__(self, epochs: int, every: int) -> None:
        super().__init__()
        self._epochs, self._every = epochs, max(every, 1)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        number = epoch + 1
        if number % self._every == 0 or number == self._epochs:
            metrics = " - ".join(f"{name}: {value:.4f}" for name, value in (logs or {}).items())
            logger.info("epoch %d/%d - %s", number, self._epochs, metrics)


def make_trainer_custom_config(
    transform: TransformConfig, model: ModelConfig, training: TrainingConfig, label: str | None
) -> dict[str, Any]:
    """The Trainer's `custom_config`: the spec sections `run_fn` needs, as plain JSON values."""
    return {
        "features": list(transform.features),
        "label": label,
        "model": model.model_dump(mode="json"),
        "training": training.model_dump(mode="json"),
    }


def compile_model(model: keras.Model, training: TrainingConfig) -> None:
    """`model.compile` with the course's optimizer, loss and metrics named in the spec."""
    loss_class = _LOSSES[training.loss]
    loss = (
        loss_class(from_logits=training.from_logits)
        if training.loss in _LOSSES_WITH_LOGITS
        else loss_class()
    )
    model.compile(
        optimizer=_OPTIMIZERS[training.optimizer.name](learning_rate=training.optimizer.learning_rate),
        loss=loss,
        metrics=list(training.metrics),
    )


def make_dataset(
    file_pattern: Sequence[str],
    data_accessor: tfx.components.DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    features: Sequence[str],
    label: str,
    batch_size: int,
    num_epochs: int | None,
    shuffle: bool,
    seed: int | None,
) -> tf.data.Dataset:
    """Batches of (model input, label) read from Transform's output TFRecords."""
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            label_key=label,
            num_epochs=num_epochs,
            shuffle=shuffle,
            shuffle_seed=seed,
        ),
        tf_transform_output.transformed_metadata.schema,
    )
    return dataset.map(
        lambda transformed, y: (model_input(transformed, features), y),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point (`run_fn='modules.trainer.run_fn'`)."""
    config: Mapping[str, Any] = fn_args.custom_config
    training = TrainingConfig.model_validate(config["training"])
    model_config = ModelConfig.model_validate(config["model"])
    features: list[str] = config["features"]
    label: str = config["label"]
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
            label,
            training.batch_size,
            num_epochs=1 if (by_epoch or not train) else None,
            shuffle=train,
            seed=training.seed,
        )

    train_dataset = dataset(fn_args.train_files, train=True)
    eval_dataset = dataset(fn_args.eval_files, train=False)

    model = build_model(model_config.name, model_config.hparams)
    compile_model(model, training)
    model.summary(print_fn=logger.info)

    fit_args: dict[str, Any] = {
        "validation_data": eval_dataset,
        "validation_freq": training.validation_freq,
        "verbose": 0,
    }
    if by_epoch:
        fit_args["epochs"] = training.epochs
        fit_args["callbacks"] = [EpochLogger(training.epochs, training.validation_freq)]
    else:
        fit_args.update(epochs=1, steps_per_epoch=fn_args.train_steps, verbose=2)
    model.fit(train_dataset, **fit_args)

    export_serving_model(model, tf_transform_output, fn_args.serving_model_dir, features, label)
