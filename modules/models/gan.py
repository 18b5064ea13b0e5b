"""Generative adversarial networks (002, "GAN 实战" and "WGAN-GP"): the course's generator and
discriminator, trained by the course's alternating loop inside Keras' `fit`.

The notes' networks, for 64x64 colour pictures (the anime faces, resized from 96x96):
  G: z(100) -> Dense(3*3*512) -> reshape -> Conv2DTranspose(256, 3, strides 3) BN relu (9x9)
     -> Conv2DTranspose(128, 5, strides 2) BN relu (21x21) -> Conv2DTranspose(3, 4, strides 3) tanh
     (64x64x3);
  D: Conv2D(64, 5, strides 3) leaky relu -> Conv2D(128, 5, 3) BN leaky relu -> Conv2D(256, 5, 3)
     BN leaky relu -> Flatten -> Dense(1) logits.
For 28x28 grey digits the same design is scaled down: G from 3*3*256 through 9x9 to 28x28 with a
last same-size layer, D with "same" padding (28 -> 10 -> 4 -> 2).

One `fit` step is the course's loop body: a discriminator step on a batch of real pictures and as
many fakes, then a generator step on fresh noise. The spec's `training.style` picks the losses: "gan"
(sigmoid cross-entropy on the logits: real -> 1, fake -> 0; the generator wants its fakes -> 1) or
"wgan_gp" (the critic loss mean D(fake) - mean D(real) plus lambda times the gradient penalty on
random interpolates t*x + (1-t)*x_fake; the generator minimises -mean D(fake)). Being a Keras model
with its own `train_step`, it keeps what the other Trainers have: the distribution strategy, mixed
precision (loss scaling through `optimizer.minimize`), callbacks, TensorBoard and the history.
"""
from __future__ import annotations

from typing import Any, Literal

import tensorflow as tf
import tf_keras as keras

from modules.model_hparams import GanHParams
from modules.registry import offset_seed, register_model

layers = keras.layers
GanLoss = Literal["gan", "wgan_gp"]
D_LOSS, G_LOSS, GRADIENT_PENALTY = "d_loss", "g_loss", "gradient_penalty"


def image_shape(hp: GanHParams) -> tuple[int, int, int]:
    """(height, width, channels) of the pictures: a grey (28, 28) input gets its channel axis."""
    shape = tuple(hp.input_shape)
    return (*shape, 1) if len(shape) == 2 else shape  # type: ignore[return-value]


def build_generator(hp: GanHParams) -> keras.Model:
    """z -> picture in [-1, 1] (tanh), the notes' transposed convolutions for the picture's size."""
    height, width, channels = image_shape(hp)
    init = keras.initializers.GlorotUniform(seed=hp.seed)
    z = keras.Input((hp.z_dim,), name="z")
    if height == 64:
        x = layers.Dense(3 * 3 * 512, kernel_initializer=init, name="fc")(z)
        x = layers.Reshape((3, 3, 512))(x)
        stages = [(256, 3, 3), (128, 5, 2)]
        last = layers.Conv2DTranspose(channels, 4, 3, "valid", kernel_initializer=init, name="conv3")
    else:
        x = layers.Dense(3 * 3 * 256, kernel_initializer=init, name="fc")(z)
        x = layers.Reshape((3, 3, 256))(x)
        stages = [(128, 3, 3), (64, 4, 3)]
        last = layers.Conv2DTranspose(channels, 3, 1, "same", kernel_initializer=init, name="conv3")
    for number, (filters, kernel, strides) in enumerate(stages, start=1):
        x = layers.Conv2DTranspose(filters, kernel, strides, "valid", kernel_initializer=init, name=f"conv{number}")(x)
        x = layers.BatchNormalization(name=f"bn{number}")(x)
        x = layers.ReLU()(x)
    x = layers.Activation("tanh", dtype="float32", name="tanh")(last(x))
    if len(hp.input_shape) == 2:
        x = layers.Reshape((height, width), dtype="float32")(x)
    return keras.Model(z, x, name="generator")


def build_discriminator(hp: GanHParams) -> keras.Model:
    """picture -> one logit: the notes' three strided convolutions (BN on the last two), leaky relu."""
    height, width, channels = image_shape(hp)
    init = keras.initializers.GlorotUniform(seed=offset_seed(hp.seed, 1))
    padding = "valid" if height == 64 else "same"
    image = keras.Input(tuple(hp.input_shape), name="image")
    x = layers.Reshape((height, width, channels))(image)
    for number, filters in enumerate((64, 128, 256), start=1):
        x = layers.Conv2D(filters, 5, 3, padding, kernel_initializer=init, name=f"conv{number}")(x)
        if number > 1:
            x = layers.BatchNormalization(name=f"bn{number}")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    logits = layers.Dense(1, kernel_initializer=init, dtype="float32", name="fc")(x)
    return keras.Model(image, logits, name="discriminator")


def gradient_penalty(discriminator: keras.Model, real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """The notes' penalty: mean over the batch of (||grad D(x_hat)||_2 - 1)^2 at x_hat = t*x + (1-t)*x_fake,
    t ~ U(0, 1) per picture."""
    real = tf.cast(real, fake.dtype)
    t = tf.random.uniform(tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], 0), dtype=fake.dtype)
    interpolates = t * real + (1.0 - t) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        logits = discriminator(interpolates, training=True)
    grads = tf.reshape(tape.gradient(logits, interpolates), [tf.shape(real)[0], -1])
    norms = tf.norm(tf.cast(grads, tf.float32), axis=1)
    return tf.reduce_mean(tf.square(norms - 1.0))


class Gan(keras.Model):
    """A generator and a discriminator, compiled with one optimizer each; `fit` runs the course's
    alternating steps, `call(z)` is the generator."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.z_dim = int(generator.input_shape[-1])
        self.loss_kind: GanLoss = "gan"
        self.gradient_penalty_weight = 0.0
        self._trackers: dict[str, keras.metrics.Mean] = {}
        self._cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(z, training=training)

    def compile(self, generator_optimizer: keras.optimizers.Optimizer,  # type: ignore[override]
                discriminator_optimizer: keras.optimizers.Optimizer, loss: GanLoss = "gan",
                gradient_penalty_weight: float = 10.0, **kwargs: Any) -> None:
        """One optimizer per network; `loss` "gan" or "wgan_gp" (with the penalty's lambda)."""
        super().compile(**kwargs)
        # Keras' own wrapping: a LossScaleOptimizer under mixed_float16, whose `minimize` scales the loss.
        self.generator_optimizer = self._get_optimizer(generator_optimizer)
        self.discriminator_optimizer = self._get_optimizer(discriminator_optimizer)
        self.loss_kind, self.gradient_penalty_weight = loss, gradient_penalty_weight
        names = (D_LOSS, G_LOSS, GRADIENT_PENALTY) if loss == "wgan_gp" else (D_LOSS, G_LOSS)
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self._trackers.values())

    def noise(self, batch: tf.Tensor) -> tf.Tensor:
        return tf.random.normal(tf.stack([batch, self.z_dim]))

    def discriminator_loss(self, real: tf.Tensor, fake: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """The discriminator's (critic's) loss and the gradient penalty in it (0 for "gan")."""
        real_logits = tf.cast(self.discriminator(real, training=training), tf.float32)
        fake_logits = tf.cast(self.discriminator(fake, training=training), tf.float32)
        if self.loss_kind == "gan":
            loss = (self._cross_entropy(tf.ones_like(real_logits), real_logits)
                    + self._cross_entropy(tf.zeros_like(fake_logits), fake_logits))
            return loss, tf.constant(0.0)
        penalty = gradient_penalty(self.discriminator, real, fake)
        return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits) + self.gradient_penalty_weight * penalty, penalty

    def generator_loss(self, fake_logits: tf.Tensor) -> tf.Tensor:
        fake_logits = tf.cast(fake_logits, tf.float32)
        if self.loss_kind == "gan":
            return self._cross_entropy(tf.ones_like(fake_logits), fake_logits)
        return -tf.reduce_mean(fake_logits)

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        real = data[0] if isinstance(data, tuple) else data
        batch = tf.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = self.generator(self.noise(batch), training=True)
            d_loss, penalty = self.discriminator_loss(real, fake, training=True)
        self.discriminator_optimizer.minimize(d_loss, self.discriminator.trainable_variables, tape=tape)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(self.noise(batch), training=True), training=True)
            g_loss = self.generator_loss(fake_logits)
        self.generator_optimizer.minimize(g_loss, self.generator.trainable_variables, tape=tape)
        return self._record(d_loss, g_loss, penalty)

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        real = data[0] if isinstance(data, tuple) else data
        fake = self.generator(self.noise(tf.shape(real)[0]), training=False)
        d_loss, penalty = self.discriminator_loss(real, fake, training=False)
        g_loss = self.generator_loss(self.discriminator(fake, training=False))
        return self._record(d_loss, g_loss, penalty)

    def _record(self, d_loss: tf.Tensor, g_loss: tf.Tensor, penalty: tf.Tensor) -> dict[str, tf.Tensor]:
        self._trackers[D_LOSS].update_state(d_loss)
        self._trackers[G_LOSS].update_state(g_loss)
        if GRADIENT_PENALTY in self._trackers:
            self._trackers[GRADIENT_PENALTY].update_state(penalty)
        return {name: tracker.result() for name, tracker in self._trackers.items()}


def build_gan(hp: GanHParams) -> Gan:
    gan = Gan(build_generator(hp), build_discriminator(hp))
    gan(tf.zeros([1, hp.z_dim]))  # builds the generator's variables under the model
    return gan


@register_model("dcgan", "the course's GAN generator and discriminator, 64x64x3 or 28x28 (002)")
def dcgan(hp: GanHParams) -> keras.Model:
    return build_gan(hp)
