"""`tfx.components` loads a component's module only when its name is used: a run's process never
imports BulkInferrer, InfraValidator or the Kubernetes client (checked in a fresh interpreter)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = r"""
import json, sys
from pipelines.runners.local import run_local  # the run path: TFX's local runner, the factory
loaded_before = [m for m in ("tfx.components.bulk_inferrer", "tfx.components.infra_validator", "kubernetes")
                 if m in sys.modules]
from tfx.components import BulkInferrer, Trainer
import tfx.components
print(json.dumps({"before": loaded_before, "bulk": BulkInferrer.__module__, "trainer": Trainer.__module__,
                  "same": tfx.components.Trainer is Trainer, "all": "Evaluator" in tfx.components.__all__}))
"""


def test_the_run_path_imports_only_the_components_it_uses():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["before"] == []
    assert result["bulk"] == "tfx.components.bulk_inferrer.component"  # still there when asked for
    assert result["trainer"] == "tfx.components.trainer.component" and result["same"] and result["all"]


def test_an_unknown_component_name_is_an_attribute_error():
    import tfx.components

    import pipelines  # noqa: F401  (registers the on-demand package first)
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchComponent'"):
        tfx.components.NoSuchComponent  # noqa: B018
