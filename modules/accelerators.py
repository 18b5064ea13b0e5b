"""Where and how the Trainer computes: every visible GPU, optional mixed precision and XLA.

Kept apart from `run_fn` so the same rules serve the Trainer, the tests and the benchmarks:
- `distribution_strategy()`: `MirroredStrategy` over the visible GPUs, else the default strategy
  (one device), so one spec trains on a laptop and on a GPU node unchanged;
- `precision_policy()`: Keras' global dtype policy for the duration of one build, restored after,
  because LocalDagRunner runs every component in one process;
- `with_float32_outputs()`: under mixed precision the last layer would emit float16; the losses and
  the Evaluator want float32 (Keras' mixed-precision guide does the same).
"""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator

import tensorflow as tf
import tf_keras as keras

from modules.spec_sections import AcceleratorConfig

logger = logging.getLogger(__name__)

MIXED_POLICY = "mixed_float16"


def distribution_strategy() -> tf.distribute.Strategy:
    """Mirrored over every visible GPU; the default (single-device) strategy without one."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        strategy = tf.distribute.MirroredStrategy([gpu.name for gpu in gpus])
        logger.info("training on %d GPU(s) with MirroredStrategy: %s", len(gpus), [g.name for g in gpus])
        return strategy
    logger.info("no GPU visible: training on the CPU")
    return tf.distribute.get_strategy()


@contextlib.contextmanager
def precision_policy(accelerator: AcceleratorConfig) -> Iterator[str]:
    """Keras' global dtype policy as the spec asks, restored on exit."""
    previous = keras.mixed_precision.global_policy()
    policy = MIXED_POLICY if accelerator.mixed_precision else "float32"
    if policy == MIXED_POLICY and not tf.config.list_logical_devices("GPU"):
        logger.warning("mixed precision without a GPU: float16 on a CPU is slower, not faster")
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)


def with_float32_outputs(model: keras.Model, input_shape: tuple[int, ...]) -> keras.Model:
    """`model` with a float32 cast after its output, for a model built under mixed precision."""
    if model.dtype_policy.compute_dtype == "float32":
        return model
    inputs = keras.Input(shape=input_shape)
    outputs = keras.layers.Activation("linear", dtype="float32", name="float32_output")(model(inputs))
    return keras.Model(inputs, outputs, name=model.name)


def device_names(strategy: tf.distribute.Strategy) -> list[str]:
    """The devices `strategy` trains on (the default strategy has no list of its own)."""
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return list(strategy.extended.worker_devices)
    return [device.name for device in tf.config.list_logical_devices("CPU")[:1]]
