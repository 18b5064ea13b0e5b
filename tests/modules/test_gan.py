"""The course's GAN (002): the notes' layer shapes and parameter counts, one alternating step of
each style moving both networks, the gradient penalty, the sample grids, and the exported
generator's signatures."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from modules.export import IMAGES_KEY, SEEDS_SIGNATURE, SERVING_SIGNATURE, export_generator
from modules.fitting import compile_model
from modules.model_hparams import GanHParams
from modules.models.gan import build_gan, gradient_penalty
from modules.sample_grids import FINAL_GRID, SAMPLES_DIR, image_grid
from modules.samples import SampleGrid, to_pixels
from modules.spec_sections import TrainingConfig
from modules.testing import parameter_count

FACES = GanHParams(input_shape=(64, 64, 3), seed=1)
DIGITS = GanHParams(input_shape=(28, 28), seed=1)


def _training(style: str, **extra) -> TrainingConfig:
    return TrainingConfig(steps=1, batch_size=4, style=style,
                          optimizer={"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5}, **extra)


def test_the_notes_faces_networks_layer_by_layer():
    gan = build_gan(FACES)
    # G: 100*4608+4608, 3*3*512*256+256 + BN 4*256, 5*5*256*128+128 + BN 4*128, 4*4*128*3+3.
    assert parameter_count(gan.generator) == 2_472_323
    # D: 5*5*3*64+64, 5*5*64*128+128 + BN 4*128, 5*5*128*256+256 + BN 4*256, 256+1.
    assert parameter_count(gan.discriminator) == 1_031_041
    shapes = [layer.output_shape[1:] for layer in gan.generator.layers if layer.name.startswith("conv")]
    assert shapes == [(9, 9, 256), (21, 21, 128), (64, 64, 3)]
    shapes = [layer.output_shape[1:] for layer in gan.discriminator.layers if layer.name.startswith("conv")]
    assert shapes == [(20, 20, 64), (6, 6, 128), (1, 1, 256)]
    assert gan.generator.output_shape == (None, 64, 64, 3) and gan.discriminator.output_shape == (None, 1)


def test_the_digits_networks():
    gan = build_gan(DIGITS)
    assert parameter_count(gan.generator) == 660_225
    assert parameter_count(gan.discriminator) == 1_028_609
    assert gan.generator.output_shape == (None, 28, 28)
    images = gan.generator(np.random.default_rng(0).standard_normal((3, 100)).astype("float32")).numpy()
    assert images.min() >= -1.0 and images.max() <= 1.0  # tanh


def test_sizes_other_than_the_notes_are_refused():
    with pytest.raises(ValueError, match=r"input_shape: expected \[64, 64, channels\]"):
        GanHParams(input_shape=(32, 32, 3))


@pytest.mark.parametrize("style", ["gan", "wgan_gp"])
def test_one_alternating_step_moves_both_networks(style):
    keras.utils.set_random_seed(0)
    gan = build_gan(DIGITS)
    compile_model(gan, _training(style))
    before = [w.numpy().copy() for w in (gan.generator.trainable_weights[0], gan.discriminator.trainable_weights[0])]
    real = np.random.default_rng(0).uniform(-1, 1, size=(4, 28, 28)).astype("float32")
    logs = gan.train_on_batch(real, return_dict=True)
    after = [gan.generator.trainable_weights[0].numpy(), gan.discriminator.trainable_weights[0].numpy()]
    assert all(not np.allclose(b, a) for b, a in zip(before, after, strict=True))
    expected = {"d_loss", "g_loss"} | ({"gradient_penalty"} if style == "wgan_gp" else set())
    assert set(logs) == expected and all(np.isfinite(v) for v in logs.values())


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic_and_squares_the_excess_otherwise():
    # D(x) = sum(w * x): its gradient is w everywhere, so the penalty is (||w|| - 1)^2 exactly.
    for norm in (1.0, 3.0):
        weights = np.full((1, 2, 2, 1), norm / 2.0, dtype="float32")  # ||w|| = norm
        critic = lambda x, training=False, w=weights: tf.reduce_sum(x * w, axis=[1, 2, 3])[:, None]  # noqa: E731
        real, fake = tf.random.normal([5, 2, 2, 1]), tf.random.normal([5, 2, 2, 1])
        assert float(gradient_penalty(critic, real, fake)) == pytest.approx((norm - 1.0) ** 2, abs=1e-5)


def test_wgan_gp_needs_no_loss_and_refuses_one():
    with pytest.raises(ValueError, match="loss: expected none for style wgan_gp"):
        _training("wgan_gp", loss="mean_squared_error")
    with pytest.raises(ValueError, match="loss: required"):
        TrainingConfig(steps=1, optimizer={"name": "adam", "learning_rate": 0.1})


def test_sample_grids_every_n_batches_and_at_the_end(tmp_path):
    gan = build_gan(DIGITS)
    compile_model(gan, _training("gan"))
    real = np.random.default_rng(0).uniform(-1, 1, size=(20, 28, 28)).astype("float32")
    gan.fit(real, batch_size=4, epochs=1, verbose=0, callbacks=[SampleGrid(str(tmp_path), 100, every=2)])
    assert sorted(p.name for p in (tmp_path / SAMPLES_DIR).iterdir()) == ["step-0000002.png", "step-0000004.png"]
    from PIL import Image
    with Image.open(tmp_path / FINAL_GRID) as grid:
        assert grid.size == (8 * 29 - 1, 8 * 29 - 1)  # 8 x 8 digits with 1-pixel gaps


def test_image_grid_tiles_row_by_row():
    images = np.stack([np.full((2, 3, 1), value, np.uint8) for value in (10, 20, 30)])
    grid = image_grid(images, columns=2)
    assert grid.shape == (5, 7, 1)
    assert grid[0, 0, 0] == 10 and grid[0, 4, 0] == 20 and grid[3, 0, 0] == 30 and grid[2, 0, 0] == 0


def test_to_pixels_maps_tanh_range_to_bytes():
    np.testing.assert_array_equal(to_pixels(np.array([[[-1.0, 0.0, 1.0]]])).numpy().ravel(), [0, 128, 255])


def test_exported_generator_serves_images_for_latents_and_for_seeds(tmp_path):
    gan = build_gan(FACES)
    export_generator(gan.generator, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    z = np.random.default_rng(0).standard_normal((2, 100)).astype("float32")
    images = loaded.signatures[SERVING_SIGNATURE](z=tf.constant(z))[IMAGES_KEY].numpy()
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, to_pixels(gan.generator(z, training=False)).numpy())
    by_seed = loaded.signatures[SEEDS_SIGNATURE]
    first = by_seed(seeds=tf.constant([7, 8], tf.int64))[IMAGES_KEY].numpy()
    again = by_seed(seeds=tf.constant([8], tf.int64))[IMAGES_KEY].numpy()
    assert first.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(first[1], again[0])  # a seed is always the same picture
    assert not np.array_equal(first[0], first[1])


def test_mixed_precision_scales_both_losses_and_keeps_float32_pictures():
    from modules.accelerators import precision_policy
    from modules.spec_sections import AcceleratorConfig

    keras.utils.set_random_seed(0)
    with precision_policy(AcceleratorConfig(mixed_precision=True)):
        gan = build_gan(DIGITS)
        compile_model(gan, _training("wgan_gp"))
    assert all(isinstance(opt, keras.mixed_precision.LossScaleOptimizer)
               for opt in (gan.generator_optimizer, gan.discriminator_optimizer))
    assert gan.generator.layers[3].compute_dtype == "float16"  # the first transposed convolution
    before = gan.generator.trainable_weights[0].numpy().copy()
    real = np.random.default_rng(0).uniform(-1, 1, size=(4, 28, 28)).astype("float32")
    logs = gan.train_on_batch(real, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert not np.allclose(before, gan.generator.trainable_weights[0].numpy())
    assert gan.generator(np.zeros((1, 100), "float32")).dtype == tf.float32
