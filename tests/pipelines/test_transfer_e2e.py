"""Transfer learning end to end: a missing weights file is a usage error before anything runs;
with the weights where Keras keeps them (written by the test from a random application, Keras'
layout), the pipeline trains the head, blesses and serves raw CIFAR images."""
from __future__ import annotations

from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import numpy as np
import pytest

from components.sources import get_source, locate
from components.sources.cifar import CIFAR10
from modules.models.transfer import APPLICATIONS
from modules.pretrained import MODEL_WEIGHTS
from pipelines import cli
from pipelines.spec.pipeline_spec import load_spec
from tests.components.formats import write_cifar10
from tests.conftest import spec_with
from tests.pipelines.runs import run_and_load_served, serve


def test_a_missing_weights_file_stops_the_run_before_anything_runs(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "data", as_archive=True, per_batch=2)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    err = StringIO()
    with redirect_stdout(StringIO()), redirect_stderr(err):
        code = cli.main(["run", "cifar10_resnet50_transfer", "--data-dir", str(tmp_path / "data"),
                         "--output", str(tmp_path / "run")])
    assert code == 2
    assert str(tmp_path / "keras" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5") in err.getvalue()
    assert not (tmp_path / "run" / "metadata.sqlite").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODEL_WEIGHTS))
def test_transfer_pipeline_end_to_end_with_weights_from_keras_home(name, tmp_path, monkeypatch):
    weights = MODEL_WEIGHTS[name]
    (tmp_path / "keras" / "models").mkdir(parents=True)
    base = APPLICATIONS[weights.application](include_top=False, weights=None, input_shape=(32, 32, 3))
    base.save_weights(str(tmp_path / "keras" / "models" / weights.file_name))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    write_cifar10(tmp_path / "data", as_archive=True, per_batch=8)  # 40 train, 9 test images
    spec = spec_with(load_spec(name), training={"epochs": 1, "batch_size": 8},
                     model={"hparams": {**load_spec(name).model.hparams, "image_size": 32}},
                     evaluation={"lower_bound": 0.0})

    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("cifar10"), str(tmp_path / "data")))

    assert summary.blessed and summary.metrics["example_count"] == 9
    images = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3)).astype(np.uint8)
    probabilities = serve(serving, [{"image": image} for image in images], CIFAR10)
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
