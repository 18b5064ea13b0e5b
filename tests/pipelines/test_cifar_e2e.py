"""A CIFAR spec end to end on CIFAR-format files the test writes: ExampleGen reads the pickled
batches, Transform scales the pixels, the Trainer trains, checkpoints and reports its throughput,
the Evaluator blesses, the Pusher pushes, and the pushed model serves raw 32x32x3 images."""
from __future__ import annotations

import json
import os

import numpy as np

from components.sources import get_source, locate
from components.sources.cifar import CIFAR10
from modules.trainer import CHECKPOINT_DIR, TRAINING_STATS_FILE
from pipelines.spec.pipeline_spec import load_spec
from tests.components.formats import write_cifar10
from tests.conftest import spec_with
from tests.pipelines.runs import run_and_load_served, serve


def test_cifar10_baseline_end_to_end_on_cifar_batches(tmp_path):
    write_cifar10(tmp_path / "data", as_archive=True, per_batch=8)  # 40 train, 9 test images
    spec = spec_with(load_spec("cifar10_baseline"), training={"epochs": 2, "batch_size": 8},
                     evaluation={"lower_bound": 0.0})

    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("cifar10"), str(tmp_path / "data")))

    assert summary.metrics["example_count"] == 9
    assert os.path.exists(os.path.join(summary.model_run_dir, CHECKPOINT_DIR, "best.index"))
    stats = json.loads(open(os.path.join(summary.model_run_dir, TRAINING_STATS_FILE)).read())
    assert stats["model"] == "cifar10_baseline" and len(stats["epoch_seconds"]) == 2
    images = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3)).astype(np.uint8)
    probabilities = serve(serving, [{"image": image} for image in images], CIFAR10)
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_cifar10_custom_dense_end_to_end_on_cifar_batches(tmp_path):
    """002's MyDense network: pixels rescaled to [-1, 1] inside the served graph, logits out."""
    write_cifar10(tmp_path / "data", as_archive=True, per_batch=8)
    spec = spec_with(load_spec("cifar10_custom_dense"), training={"epochs": 2, "batch_size": 8},
                     evaluation={"lower_bound": 0.0})

    summary, serving = run_and_load_served(spec, tmp_path, data=locate(get_source("cifar10"), str(tmp_path / "data")))

    assert summary.blessed and summary.metrics["example_count"] == 9
    stats = json.loads(open(os.path.join(summary.model_run_dir, TRAINING_STATS_FILE)).read())
    assert stats["model"] == "cifar10_custom_dense"
    images = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3)).astype(np.uint8)
    logits = serve(serving, [{"image": image} for image in images], CIFAR10)
    assert logits.shape == (3, 10) and np.isfinite(logits).all()
