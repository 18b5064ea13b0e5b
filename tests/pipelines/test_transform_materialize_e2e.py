"""`transform.materialize: false`: Transform only analyzes, and the Trainer applies its graph to
ExampleGen's raw examples as it reads them. The model must be the one the materialized path trains:
same split, same seed, same transformed inputs, so the same weights and the same served outputs.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from components.sources import get_source, locate
from components.sources.images import MNIST
from pipelines.spec.pipeline_spec import load_spec
from tests.components.formats import write_mnist_npz
from tests.conftest import spec_with
from tests.pipelines.runs import run_and_load_served, serve


@pytest.fixture(scope="module")
def served_both_ways(tmp_path_factory):
    """{materialize: (run directory, summary, serving signature)} for mnist_mlp on 64 pictures."""
    data_dir = tmp_path_factory.mktemp("mnist")
    write_mnist_npz(data_dir, n_train=64, n_test=16)
    runs = {}
    for materialize in (True, False):
        root = tmp_path_factory.mktemp(f"materialize-{materialize}")
        spec = spec_with(load_spec("mnist_mlp"), transform={"materialize": materialize},
                         training={"epochs": 2, "batch_size": 16, "seed": 7}, evaluation={"lower_bound": 0.0})
        summary, serving = run_and_load_served(spec, root, data=locate(get_source("mnist"), str(data_dir)))
        runs[materialize] = (str(root / "run"), summary, serving)
    return runs


def test_without_materializing_transform_writes_no_transformed_examples(served_both_ways):
    materialized_dir = os.path.join(served_both_ways[True][0], "pipeline", "Transform")
    analyzed_only_dir = os.path.join(served_both_ways[False][0], "pipeline", "Transform")
    assert "transformed_examples" in os.listdir(materialized_dir)
    assert "transformed_examples" not in os.listdir(analyzed_only_dir)
    assert "transform_graph" in os.listdir(analyzed_only_dir)


def test_the_trainer_applying_the_graph_trains_the_model_transform_would_have(served_both_ways):
    (_, materialized, serving_a), (_, analyzed_only, serving_b) = served_both_ways[True], served_both_ways[False]
    assert materialized.metrics["example_count"] == analyzed_only.metrics["example_count"] == 16
    images = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28)).astype(np.uint8)
    records = [{"image": image} for image in images]
    np.testing.assert_allclose(serve(serving_b, records, MNIST), serve(serving_a, records, MNIST), rtol=1e-5, atol=1e-6)
