"""Where the pretrained weights of Keras' applications are on this machine, without importing Keras.

Transfer-learning models (`modules/models/transfer.py`) read ImageNet weights from where Keras
keeps them or a path in the spec; nothing downloads. `coursepipe run` asks `missing_weights`
before TensorFlow is imported, so a missing file is a usage error in a fraction of a second, not
a failed Trainer after the data steps.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

WEIGHTS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications"
RANDOM_WEIGHTS, IMAGENET_WEIGHTS = "random", "imagenet"


class MissingWeightsError(FileNotFoundError):
    """The pretrained weights file is not where the spec or Keras' cache says."""


@dataclass(frozen=True)
class WeightsFile:
    """A Keras application's ImageNet weights without the top, as Keras names and publishes them."""

    application: str  # the keras.applications constructor
    file_name: str
    origin_folder: str

    @property
    def origin(self) -> str:
        return f"{WEIGHTS_ORIGIN}/{self.origin_folder}/{self.file_name}"


RESNET50 = WeightsFile("ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet")
VGG16 = WeightsFile("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16")
# The registry's transfer models and the weights each reads.
MODEL_WEIGHTS = {"cifar10_resnet50_transfer": RESNET50, "cifar10_vgg16_transfer": VGG16}


def keras_models_dir() -> str:
    """Where Keras keeps downloaded application weights: `$KERAS_HOME/models` or `~/.keras/models`."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(keras_home, "models")


def weights_path(weights_file: WeightsFile, weights: str) -> str | None:
    """The file `weights` (imagenet, a path, random) names; None for random; MissingWeightsError when absent."""
    if weights == RANDOM_WEIGHTS:
        return None
    path = os.path.join(keras_models_dir(), weights_file.file_name) if weights == IMAGENET_WEIGHTS else weights
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise MissingWeightsError(
            f"model.hparams.weights: {path} does not exist; expected {weights_file.application}'s ImageNet "
            f"weights without the top ({weights_file.file_name}). Nothing downloads here: fetch "
            f"{weights_file.origin} on a machine with internet (or run "
            f"keras.applications.{weights_file.application}(include_top=False) there, which caches it in "
            f"~/.keras/models) and copy it to {keras_models_dir()}, or give its path in model.hparams.weights")
    return path


def missing_weights(model_name: str, hparams: Mapping[str, Any]) -> str | None:
    """Why `model_name` cannot be built here (its weights file is missing), or None."""
    weights_file = MODEL_WEIGHTS.get(model_name)
    if weights_file is None:
        return None
    try:
        weights_path(weights_file, str(hparams.get("weights", IMAGENET_WEIGHTS)))
    except MissingWeightsError as error:
        return str(error)
    return None
