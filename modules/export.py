"""Exports a trained model with the two signatures TFX needs.

- `serving_default`: serialized `tf.Example` with the raw features in, predictions out; the
  Transform graph is inside, so a client never re-implements the preprocessing.
- `transform_features`: serialized `tf.Example` in, transformed features out; the Evaluator uses it.

A GAN's generator is exported by `export_generator` instead: what it serves is pictures for
latent vectors (or for integer seeds), not predictions for examples.
"""
from __future__ import annotations

import logging
from typing import Sequence

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from modules.inputs import flatten_batch, model_input
from modules.preprocessing import label_offset_name, label_range_name
from modules.samples import to_pixels

logger = logging.getLogger(__name__)

SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
OUTPUT_KEY = "outputs"
CLASSES_KEY = "classes"
RECONSTRUCTION_LOSS_KEY = "reconstruction_loss"
SEEDS_SIGNATURE = "from_seeds"
IMAGES_KEY = "images"


def export_serving_model(
    model: keras.Model,
    tf_transform_output: tft.TFTransformOutput,
    serving_model_dir: str,
    features: Sequence[str],
    label: str | None,
    reconstruction_loss: keras.losses.Loss | None = None,
    scaled_label: bool = False,
    class_names: Sequence[str] = (),
) -> None:
    """Saves `model` as a SavedModel with `serving_default` and `transform_features` signatures.

    With `reconstruction_loss` (an autoencoder), `serving_default` also returns each example's
    loss between its input and its reconstruction: what the Evaluator gates such a model on.
    With `scaled_label` (the model learned a min-max scaled label), predictions are scaled back
    with the training split's offset and range, which Transform computes for every example.
    With `class_names` (a label read as names), `serving_default` also returns each example's
    predicted class by name under `classes`.
    """
    # Tracked as an attribute so the Transform graph's assets are saved with the model.
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_feature_spec = tf_transform_output.raw_feature_spec()
    serving_feature_spec = {k: v for k, v in raw_feature_spec.items() if k != label}

    # autograph=False: nothing here branches on a tensor, and converting the transform layer's code
    # on the way cost seconds per export (modules.autograph).
    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")], autograph=False)
    def serve_tf_examples(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, serving_feature_spec)
        transformed = model.tft_layer(parsed)
        inputs = model_input(transformed, features)
        outputs = model(inputs, training=False)
        if scaled_label:
            outputs = (outputs * transformed[label_range_name(label)][:, tf.newaxis]
                       + transformed[label_offset_name(label)][:, tf.newaxis])
        if class_names:
            return {OUTPUT_KEY: outputs, CLASSES_KEY: predicted_class_names(outputs, class_names)}
        if reconstruction_loss is None:
            return {OUTPUT_KEY: outputs}
        return {OUTPUT_KEY: outputs, RECONSTRUCTION_LOSS_KEY: reconstruction_loss(flatten_batch(inputs), outputs)}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")], autograph=False)
    def transform_features(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, raw_feature_spec)
        return model.tft_layer(parsed)

    signatures = {
        SERVING_SIGNATURE: serve_tf_examples.get_concrete_function(),
        TRANSFORM_SIGNATURE: transform_features.get_concrete_function(),
    }
    model.save(serving_model_dir, save_format="tf", signatures=signatures)
    logger.info("Exported model with signatures %s to %s", sorted(signatures), serving_model_dir)


def predicted_class_names(outputs: tf.Tensor, class_names: Sequence[str]) -> tf.Tensor:
    """[batch] names of the most probable class: argmax of several outputs, or of one sigmoid unit
    the second name when it exceeds 0.5."""
    names = tf.constant(list(class_names))
    if outputs.shape[-1] == 1:
        ids = tf.cast(outputs[:, 0] > 0.5, tf.int64)
    else:
        ids = tf.argmax(outputs, axis=-1)
    return tf.gather(names, ids)


def export_generator(generator: keras.Model, serving_model_dir: str) -> None:
    """Saves a GAN's generator: `serving_default` takes latent vectors `z` [batch, z_dim] (float32)
    and `from_seeds` integer `seeds` [batch] (each seed one standard normal latent vector, the same
    on every call); both return `images`, uint8 [batch, height, width, channels]."""
    z_dim = int(generator.input_shape[-1])

    @tf.function(input_signature=[tf.TensorSpec(shape=[None, z_dim], dtype=tf.float32, name="z")], autograph=False)
    def from_latents(z: tf.Tensor) -> dict[str, tf.Tensor]:
        return {IMAGES_KEY: to_pixels(generator(z, training=False))}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.int64, name="seeds")], autograph=False)
    def from_seeds(seeds: tf.Tensor) -> dict[str, tf.Tensor]:
        latents = tf.map_fn(
            lambda seed: tf.random.stateless_normal([z_dim], seed=tf.stack([seed, tf.zeros_like(seed)])),
            seeds, fn_output_signature=tf.float32)
        return from_latents(latents)

    signatures = {SERVING_SIGNATURE: from_latents.get_concrete_function(),
                  SEEDS_SIGNATURE: from_seeds.get_concrete_function()}
    generator.save(serving_model_dir, save_format="tf", signatures=signatures)
    logger.info("Exported the generator with signatures %s to %s", sorted(signatures), serving_model_dir)
