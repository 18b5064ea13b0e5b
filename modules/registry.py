"""The model registry: a name in a spec maps to a pure builder `build(hparams) -> keras.Model`.

A spec may also name a user's own builder as `package.module:function`, so a user adds a model
without touching this project; such a builder gets `UserHParams`, which keeps any extra keys.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Callable, TypeVar

import tf_keras as keras

from modules.autograph import skip_library_conversion
from modules.model_hparams import DOTTED_PATH, MODEL_HPARAMS, HParams, UserHParams, unknown_model_message
from modules.spec_sections import ModelConfig

skip_library_conversion()  # before any model is built and traced (modules.autograph says why)


def flat_size(shape: tuple[int, ...]) -> int:
    """Values in one example of `shape` (784 for a 28x28 image): what a flattened input holds."""
    return math.prod(shape)


def offset_seed(seed: int | None, offset: int) -> int | None:
    """A distinct seed per layer from one model seed (None stays unseeded)."""
    return None if seed is None else seed + offset


HP = TypeVar("HP", bound=HParams)
Builder = Callable[[HP], keras.Model]


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    build: Builder
    hparams_class: type[HParams]
    description: str


_REGISTRY: dict[str, RegisteredModel] = {}


def register_model(name: str, description: str = "") -> Callable[[Builder], Builder]:
    """Decorator that registers a builder under `name` (the name specs use), with the
    hyperparameters `modules.model_hparams.MODEL_HPARAMS` gives that name."""

    def decorator(build: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        if name not in MODEL_HPARAMS:
            raise ValueError(f"model {name!r} has no hyperparameters in modules.model_hparams.MODEL_HPARAMS")
        _REGISTRY[name] = RegisteredModel(name, build, MODEL_HPARAMS[name], description)
        return build

    return decorator


def _load_builtin_models() -> None:
    """Imports the package whose modules register the course models."""
    importlib.import_module("modules.models")


def registered_names() -> list[str]:
    _load_builtin_models()
    return sorted(_REGISTRY)


def resolve_model(name: str) -> RegisteredModel:
    """The registered model `name`, or the user's builder at `package.module:function`.

    Raises:
      KeyError: unknown name, with the allowed names in the message.
      ImportError: a dotted path that does not import or names no callable.
    """
    _load_builtin_models()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if DOTTED_PATH.match(name):
        module_name, function_name = name.split(":")
        module = importlib.import_module(module_name)
        build = getattr(module, function_name, None)
        if not callable(build):
            raise ImportError(f"{module_name!r} has no callable {function_name!r}")
        return RegisteredModel(name, build, UserHParams, f"user builder {name}")
    raise KeyError(unknown_model_message(name))


def model_input_shape(model_config: ModelConfig) -> tuple[int, ...]:
    """The input shape the model is built for, defaults of its hyperparameters included."""
    registered = resolve_model(model_config.name)
    return tuple(registered.hparams_class.model_validate(model_config.hparams).input_shape)


def build_model(name: str, hparams: dict) -> keras.Model:
    """Validates `hparams` for the model `name` and builds it."""
    registered = resolve_model(name)
    return registered.build(registered.hparams_class.model_validate(hparams))
