"""What a run's process imports (checked in a fresh interpreter): `tfx.components` loads a
component's module only when its name is used, so BulkInferrer, InfraValidator and the Kubernetes
client are never imported; TensorFlow is told to use Keras 2, so Keras 3 is not imported either."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, sys
from pipelines.runs.local_runner import run_local  # the run path: TFX's local runner, the factory
loaded_before = [m for m in ("tfx.components.bulk_inferrer", "tfx.components.infra_validator", "kubernetes",
                              "keras.src", "keras_tuner") if m in sys.modules]
import tensorflow as tf, tf_keras
legacy = tf.keras.Model is tf_keras.Model
from tfx.components import BulkInferrer, Trainer
import tfx.components
print(json.dumps({"before": loaded_before, "bulk": BulkInferrer.__module__, "trainer": Trainer.__module__,
                  "same": tfx.components.Trainer is Trainer, "all": "Evaluator" in tfx.components.__all__,
                  "legacy": legacy}))
"""


def test_the_run_path_imports_only_what_it_uses():
    env = {name: value for name, value in os.environ.items() if name != "TF_USE_LEGACY_KERAS"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert result["bulk"] == "tfx.components.bulk_inferrer.component"  # still there when asked for
    assert result["trainer"] == "tfx.components.trainer.component" and result["same"] and result["all"]
    assert result["legacy"]  # tf.keras is tf_keras, what tf.Transform requires


def test_an_unknown_component_name_is_an_attribute_error():
    import tfx.components

    import pipelines  # noqa: F401  (registers the on-demand package first)
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchComponent'"):
        tfx.components.NoSuchComponent  # noqa: B018
