"""Shared test set-up: quiet TF logs; the iris rows and spec used across the suite."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from pipelines.spec.pipeline_spec import PipelineSpec, load_spec


@pytest.fixture(scope="session")
def iris_spec() -> PipelineSpec:
    return load_spec("iris_softmax")


def spec_with(spec: PipelineSpec, **section_updates: dict) -> PipelineSpec:
    """A copy of `spec` with some keys of some sections replaced, validated like a YAML file."""
    data = spec.model_dump(mode="json")
    for section, updates in section_updates.items():
        data[section] = {**data[section], **updates}
    return PipelineSpec.from_dict(data)


@pytest.fixture(autouse=True, scope="session")
def _no_tfx_source_package_per_beam_step():
    """Every pipeline a test runs proves that no Beam step builds TFX's source package (1.7 s
    and a 49 MB temporary copy each; see pipelines.factory.beam_args_for_local_workers)."""
    from tfx.utils import dependency_utils

    def refuse() -> str:
        raise AssertionError("a Beam executor built TFX's ephemeral source package")

    patch = pytest.MonkeyPatch()
    patch.setattr(dependency_utils, "build_ephemeral_package", refuse)
    yield
    patch.undo()
