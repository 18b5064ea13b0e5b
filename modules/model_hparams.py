"""Every course model's hyperparameters, and the model names a spec may use, without Keras.

A spec names a model and its hyperparameters; checking them should not import TensorFlow (4-6 s),
so the hyperparameter schemas live here, apart from the builders in `modules/models/`, which
import Keras. `MODEL_HPARAMS` maps each registered name to its schema; `modules.registry`
registers a builder under a name only if this table has it, and a test checks both list the same
names. A user's builder named `package.module:function` takes `UserHParams`.
"""
from __future__ import annotations

import importlib.util
import re

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

DOTTED_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class HParams(BaseModel):
    """Hyperparameters every builder takes; builders subclass it with their own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_shape: tuple[PositiveInt, ...]


class UserHParams(HParams):
    """Hyperparameters of a user's builder named by dotted path: extra keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


# tabular (modules/models/tabular.py)

class SoftmaxClassifierHParams(HParams):
    num_classes: PositiveInt = 3
    l2: NonNegativeFloat = 0.01  # the default of the course's `tf.keras.regularizers.l2()`


class TapeLayerHParams(HParams):
    num_classes: PositiveInt = 3
    init_stddev: PositiveFloat = 0.1
    seed: int | None = 1


class DotMlpHParams(HParams):
    hidden: PositiveInt = 11
    # The course's regularizer: loss + l2_loss_weight * sum(tf.nn.l2_loss(w)) over w1 and w2;
    # tf.nn.l2_loss(w) is sum(w**2) / 2, so Keras' l2 factor is half of it.
    l2_loss_weight: NonNegativeFloat = 0.0
    seed: int | None = None


class LinearHParams(HParams):
    seed: int = 1


class DigitsMlpHParams(HParams):
    hidden: PositiveInt = 30
    num_classes: PositiveInt = 10
    seed: int | None = None


class RegressionMlpHParams(HParams):
    hidden: tuple[PositiveInt, ...] = (64, 64)


class TabularMlpHParams(HParams):
    """A small MLP for a user's table (`coursepipe init` sizes it): softmax over `num_classes`, one
    sigmoid unit when `binary` (TFMA's binary_accuracy gates it), else one linear unit (regression)."""

    hidden: tuple[PositiveInt, ...] = (64, 32)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    num_classes: int | None = Field(None, ge=2)
    binary: bool = False
    seed: int | None = None


# mnist (modules/models/mnist.py)

class Augmentation(BaseModel):
    """004 M14's ImageDataGenerator(rotation_range=45, width/height_shift_range=.15,
    zoom_range=.5) as Keras preprocessing layers: active in training only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rotation_degrees: float = Field(45.0, ge=0, le=180)
    shift: float = Field(0.15, ge=0, lt=1)
    zoom: float = Field(0.5, ge=0, lt=1)
    seed: int | None = None


class MnistMlpHParams(HParams):
    hidden: PositiveInt = 128
    num_classes: PositiveInt = 10
    augmentation: Augmentation | None = None


class TapeMlpHParams(HParams):
    hidden: tuple[PositiveInt, ...] = (256, 128)
    num_classes: PositiveInt = 10
    init_stddev: PositiveFloat = 0.1
    seed: int | None = None


class Mlp5HParams(HParams):
    hidden: tuple[PositiveInt, ...] = (256, 128, 64, 32)
    num_classes: PositiveInt = 10
    dropout: float | None = Field(None, ge=0, lt=1, description="after the first two hidden layers (002)")


class CustomDenseHParams(HParams):
    hidden: tuple[PositiveInt, ...] = (256, 128, 64, 32)
    num_classes: PositiveInt = 10


class TransferHParams(HParams):
    """A Keras application's convolution base, pretrained on ImageNet, under a new classification head
    (002, 预训练网络): raw pixels in (0..255), resized to `image_size` and preprocessed as the
    application expects, inside the model so that serving does the same."""

    input_shape: tuple[PositiveInt, ...] = (32, 32, 3)
    num_classes: PositiveInt = 10
    image_size: int = Field(64, ge=32, description="the side the images are resized to (the applications need >= 32)")
    head: tuple[PositiveInt, ...] = (256,)
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    fine_tune_layers: int = Field(
        0, ge=0, description="the base's last N layers train with the head (batch normalization stays frozen); 0: all frozen"
    )
    weights: str = Field(
        "imagenet",
        description="imagenet: the file Keras keeps in ~/.keras/models (KERAS_HOME honoured); a path to such a "
        "file; random: no pretrained weights",
    )


class AutoencoderHParams(HParams):
    encoder: tuple[PositiveInt, ...] = (256, 128)
    code: PositiveInt = 10


class VaeHParams(HParams):
    hidden: PositiveInt = 128
    z_dim: PositiveInt = 10
    kl_weight: PositiveFloat = 1.0
    seed: int | None = None


class GanHParams(HParams):
    """The course's GAN (002): 64x64 colour pictures (the notes' faces) or 28x28 grey digits."""

    input_shape: tuple[PositiveInt, ...] = (64, 64, 3)
    z_dim: PositiveInt = Field(100, description="the generator's latent vector")
    seed: int | None = None

    @model_validator(mode="after")
    def _known_size(self) -> GanHParams:
        shape = tuple(self.input_shape)
        if not (len(shape) == 3 and shape[:2] == (64, 64)) and shape not in ((28, 28), (28, 28, 1)):
            raise ValueError("input_shape: expected [64, 64, channels] (the notes' faces) or [28, 28] (digits), "
                             f"got {list(shape)}")
        return self


# cifar (modules/models/cifar.py)

class CifarHParams(HParams):
    input_shape: tuple[PositiveInt, ...] = (32, 32, 3)
    num_classes: PositiveInt = 10


class DropoutCifarHParams(CifarHParams):
    dropout: float = Field(0.2, ge=0, lt=1)


class AlexNetHParams(CifarHParams):
    dropout: float = Field(0.5, ge=0, lt=1)


class InceptionHParams(CifarHParams):
    num_blocks: PositiveInt = 2
    init_channels: PositiveInt = 16
    course_batchnorm: bool = Field(
        True,
        description="true: call BatchNormalization with training=False as the course's ConvBNRelu "
        "does (its figure 0.4645 was trained so); false: Keras' usual batch statistics in training",
    )


class ResNetHParams(CifarHParams):
    block_list: tuple[PositiveInt, ...] = (2, 2, 2, 2)
    initial_filters: PositiveInt = 64
    # `tf.keras.regularizers.l2()` on the classifier, whose default factor is 0.01.
    l2: NonNegativeFloat = 0.01


class Vgg13HParams(CifarHParams):
    num_classes: PositiveInt = 100
    units: tuple[PositiveInt, ...] = (64, 128, 256, 512, 512)
    dense: tuple[PositiveInt, ...] = (256, 128)


class BasicResNetHParams(CifarHParams):
    num_classes: PositiveInt = 100
    layer_dims: tuple[PositiveInt, ...] = (2, 2, 2, 2)


# sequences (modules/models/sequences.py)

class ImdbHParams(HParams):
    input_shape: tuple[PositiveInt, ...] = (80,)
    vocab_size: PositiveInt = 10_000
    embedding_dim: PositiveInt = 100
    units: PositiveInt = 64
    dropout: float = Field(0.5, ge=0, lt=1)


class LettersOneHotHParams(HParams):
    """input_shape: [steps, alphabet size] of one-hot letters."""

    units: PositiveInt = 3
    num_classes: PositiveInt = 5


class LettersEmbeddingHParams(HParams):
    """input_shape: [steps] of letter ids."""

    alphabet_size: PositiveInt = 5
    embedding_dim: PositiveInt = 2
    units: PositiveInt = 3

    @property
    def num_classes(self) -> int:
        """The next letter is one of the alphabet: as many classes as ids."""
        return self.alphabet_size


class StockHParams(HParams):
    input_shape: tuple[PositiveInt, ...] = (60,)
    units: tuple[PositiveInt, PositiveInt] = (80, 100)
    dropout: float = Field(0.2, ge=0, lt=1)


MODEL_HPARAMS: dict[str, type[HParams]] = {
    "iris_softmax": SoftmaxClassifierHParams,
    "iris_tape": TapeLayerHParams,
    "dot_mlp": DotMlpHParams,
    "yogurt_linear": LinearHParams,
    "digits_mlp": DigitsMlpHParams,
    "boston_mlp": RegressionMlpHParams,
    "tabular_mlp": TabularMlpHParams,
    "mnist_mlp": MnistMlpHParams,
    "mnist_mlp_tape": TapeMlpHParams,
    "mnist_mlp5": Mlp5HParams,
    "mnist_custom_dense": CustomDenseHParams,
    "cifar10_custom_dense": CustomDenseHParams,
    "cifar10_resnet50_transfer": TransferHParams,
    "cifar10_vgg16_transfer": TransferHParams,
    "mnist_autoencoder": AutoencoderHParams,
    "mnist_vae": VaeHParams,
    "dcgan": GanHParams,
    "cifar10_baseline": DropoutCifarHParams,
    "cifar10_lenet5": CifarHParams,
    "cifar10_alexnet8": AlexNetHParams,
    "cifar10_vgg16": DropoutCifarHParams,
    "cifar10_inception10": InceptionHParams,
    "cifar10_resnet18": ResNetHParams,
    "cifar100_vgg13": Vgg13HParams,
    "cifar100_resnet18": BasicResNetHParams,
    "imdb_simplernn": ImdbHParams,
    "imdb_lstm": ImdbHParams,
    "imdb_gru": ImdbHParams,
    "letters_onehot": LettersOneHotHParams,
    "letters_embedding": LettersEmbeddingHParams,
    "stock_rnn": StockHParams,
    "stock_lstm": StockHParams,
    "stock_gru": StockHParams,
}


def builtin_model_names() -> list[str]:
    return sorted(MODEL_HPARAMS)


def unknown_model_message(name: str) -> str:
    return f"model {name!r} unknown; expected one of: {', '.join(builtin_model_names())} (or package.module:function)"


def hparams_class(name: str) -> type[HParams] | None:
    """The schema of model `name`'s hyperparameters: a registered model's own, `UserHParams` for a
    dotted path, None for a name that is neither."""
    if name in MODEL_HPARAMS:
        return MODEL_HPARAMS[name]
    return UserHParams if DOTTED_PATH.match(name) else None


def model_name_problem(name: str) -> str | None:
    """Why `name` names no model (None when it names one), found without importing the model's code:
    a registered name, or a dotted path whose module exists. Whether that module holds the callable
    is known only once it is imported (`modules.registry.resolve_model`)."""
    if name in MODEL_HPARAMS:
        return None
    if not DOTTED_PATH.match(name):
        return unknown_model_message(name)
    module_name = name.split(":")[0]
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError) as error:  # a parent package that does not exist
        return str(error)
    return None if found is not None else f"No module named {module_name!r}"
