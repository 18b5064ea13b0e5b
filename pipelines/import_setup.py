"""What a process sets up before TensorFlow and TFX load: Keras 2 as `tf.keras`, and
`tfx.components` on demand.

Keras 2 (`TF_USE_LEGACY_KERAS=1`): tf.Transform works only with Keras 2 and sets this variable
itself, but only when it is imported, after TensorFlow has read it. TensorFlow 2.16 then eagerly
imports Keras 3's optimizers (and with them Keras 3 and scikit-learn) to register them, which no
model here uses: every model is `tf_keras`. Set before TensorFlow loads, `import tensorflow`
takes about 2 s less (benchmarks/pipeline_runs.py, variant `keras3-loaded`), in every process: a
run, a command that reads a model, each Kubeflow step. A value the user set is kept.

`tfx.components` on demand: each component's module is imported when its name is first used.
TFX's `tfx/components/__init__.py` imports every component it has. Its own orchestrator reaches
that file through an unrelated constant (the local runner's launcher -> input resolution ->
`latest_blessed_model_strategy` -> `tfx.components.evaluator.constants`), so every `coursepipe run`,
even one where every step comes from the cache, paid for BulkInferrer, InfraValidator and the
Kubernetes client, which no pipeline here uses. Registering the package with a module-level
`__getattr__` (PEP 562) in place of running that file keeps `from tfx.components import Trainer`
and `tfx.components.Trainer` working, imports submodules as usual, and loads a component's module
only when its name is asked for. The names and their modules are read from TFX's own file, so a
TFX upgrade that adds a component needs no change here.
"""
from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Sequence

PACKAGE = "tfx.components"
LEGACY_KERAS = "TF_USE_LEGACY_KERAS"


def keras_2_for_tensorflow() -> None:
    """`tf.keras` is Keras 2 (`tf_keras`), as tf.Transform requires, unless the user chose otherwise."""
    os.environ.setdefault(LEGACY_KERAS, "1")


def _exported_names(origin: str) -> dict[str, str]:
    """`{name: module}` of each `from MODULE import name` at the top of TFX's `__init__.py`."""
    with open(origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=origin)
    return {alias.asname or alias.name: node.module
            for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names}


class _ComponentsOnDemand(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `tfx.components` where it is and loads it as a package of names imported on first use.

    A finder on `sys.meta_path`, so nothing of TFX is imported until something imports TFX."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None,
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PACKAGE:
            return None
        found = importlib.machinery.PathFinder.find_spec(fullname, path)
        if found is None or found.origin is None:
            return None
        spec = importlib.util.spec_from_file_location(
            fullname, found.origin, loader=self, submodule_search_locations=found.submodule_search_locations)
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module

    def exec_module(self, module: types.ModuleType) -> None:
        names = _exported_names(module.__spec__.origin)

        def __getattr__(name: str) -> object:  # noqa: N807 (PEP 562's name)
            if name not in names:
                raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(names[name]), name)
            setattr(module, name, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__all__ = sorted(names)  # type: ignore[attr-defined]


def components_on_demand() -> None:
    """Makes `tfx.components`, once something imports it, a package whose names load on first use
    (no-op when it is already imported or the finder is in place)."""
    if PACKAGE in sys.modules or any(isinstance(finder, _ComponentsOnDemand) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _ComponentsOnDemand())
