"""The iris pipeline end to end on Beam, as `make run` runs it: blessed, pushed, served, cached.

One cold run and one warm run of the real spec (500 epochs; about a minute here): the session's
`runs` fixture (tests/pipelines/conftest.py), shared with the other tests that need a pushed model.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_iris

from components.example_gen import to_example
from components.sources.tabular import IRIS
from modules.export import OUTPUT_KEY, SERVING_SIGNATURE, TRANSFORM_SIGNATURE
from modules.features import transformed_name
from pipelines import cli


def test_cold_run_executes_all_eight_components_and_blesses(runs, iris_spec):
    (summary, stdout), _, output = runs
    assert sorted(summary.executed) == sorted(iris_spec.component_ids())
    assert summary.cached == [] and summary.failed == []
    assert summary.blessed is True
    assert summary.metrics["sparse_categorical_accuracy"] >= 0.9
    assert summary.metrics["example_count"] == 30
    assert summary.pushed_destination.startswith(os.path.join(output, "serving"))
    assert "blessed: yes" in stdout and summary.pushed_destination in stdout
    # The course's figure and the numbers behind it, plus TensorBoard logs, in the Trainer's run dir.
    curves = os.path.join(summary.model_run_dir, "curves.png")
    assert f"curves: {curves}" in stdout and "tensorboard --logdir" in stdout
    with open(os.path.join(summary.model_run_dir, "history.json"), encoding="utf-8") as handle:
        history = json.load(handle)
    assert len(history["loss"]) == 500 and [e for e, _ in history["val_loss"]][:2] == [20, 40]
    # Transform computes no statistics of its own unless the spec asks (StatisticsGen has the raw
    # splits'), writes no analyzer cache that nothing reads, and leaves transforming the examples
    # to the Trainer unless the spec asks for them.
    transform_outputs = os.listdir(os.path.join(output, "pipeline", "Transform"))
    assert "transform_graph" in transform_outputs
    assert not {"pre_transform_stats", "post_transform_stats", "updated_analyzer_cache",
                "transformed_examples"} & set(transform_outputs)


def test_unchanged_rerun_executes_nothing_and_pushes_no_copy(runs, iris_spec):
    (cold, _), (warm, stdout), output = runs
    assert warm.executed == []
    assert sorted(warm.cached) == sorted(iris_spec.component_ids())
    assert warm.pushed_destination == cold.pushed_destination
    assert len(os.listdir(os.path.join(output, "serving"))) == 1
    assert "(0 executed, 8 from cache)" in stdout


def test_pushed_model_serves_raw_tf_examples(runs):
    (summary, _), _, _ = runs
    model = tf.saved_model.load(summary.pushed_destination)
    iris = load_iris()
    rows = [0, 60, 120, 149]  # two setosa-like, one versicolor, one virginica
    serialized = [
        to_example(dict(zip(IRIS.features, iris.data[i], strict=True))).SerializeToString() for i in rows
    ]
    probabilities = model.signatures[SERVING_SIGNATURE](examples=tf.constant(serialized))[OUTPUT_KEY].numpy()
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert probabilities.argmax(axis=1).tolist() == iris.target[rows].tolist()

    with_label = [
        to_example({**dict(zip(IRIS.features, iris.data[i], strict=True)), IRIS.label: int(iris.target[i])}).SerializeToString()
        for i in rows
    ]
    transformed = model.signatures[TRANSFORM_SIGNATURE](examples=tf.constant(with_label))
    assert set(transformed) == {*map(transformed_name, IRIS.features), IRIS.label}


def test_runs_lists_both_runs_from_ml_metadata(runs, capsys):
    (cold, _), (warm, _), output = runs
    capsys.readouterr()
    assert cli.main(["runs", "iris_softmax", "--output", output, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [entry["run_id"] for entry in history] == [cold.run_id, warm.run_id]
    assert [len(entry["executed"]) for entry in history] == [8, 0]
    assert all(entry["blessed"] and entry["span"] == 0 for entry in history)
    assert history[1]["pushed_destination"] == cold.pushed_destination
    assert cli.main(["runs", "iris_softmax", "--output", output]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 3 and "sparse_categorical_accuracy" in table[0]
    assert table[1].split()[1:4] == ["0", "8", "0"] and table[2].split()[1:4] == ["0", "0", "8"]


def test_run_json_summary(runs, capsys):
    _, _, output = runs
    capsys.readouterr()
    assert cli.main(["run", "iris_softmax", "--output", output, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["id"] == "iris_softmax" and summary["run_directory"] == output
    assert summary["blessed"] is True and len(summary["cached"]) == 8
    assert summary["evaluation"] == {"metric": "sparse_categorical_accuracy", "lower_bound": 0.9, "upper_bound": None}
    assert summary["metrics"]["sparse_categorical_accuracy"] >= 0.9


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def _chromium() -> str:
    """Debian's chromium (.ci/run installs it); without it the test skips, unless REQUIRE_CHROMIUM."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail("REQUIRE_CHROMIUM is set but Debian's chromium is not installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


def test_report_renders_in_headless_chromium_with_the_runs_values(runs, tmp_path, capsys):
    (summary, _), _, output = runs
    page = tmp_path / "report.html"
    assert cli.main(["report", "iris_softmax", "--output", output, "--to", str(page)]) == 0
    assert f"written to {page}" in capsys.readouterr().out
    html_text = page.read_text()
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", html_text)  # self-contained: nothing to fetch
    chromium = _chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    accuracy = f"{summary.metrics['sparse_categorical_accuracy']:.4f}"
    for shown in ("iris_softmax", "ImportSchemaGen", "Trainer", "petal_length", "120 examples", "No anomalies",
                  "sparse_categorical_accuracy", accuracy, "0.9", 'Blessed: <span class="yes">yes</span>',
                  summary.pushed_destination, "examples", "float32", "data:image/png;base64,"):
        assert shown in dom, shown
    screenshot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1300,2400",
                    f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert screenshot.stat().st_size > 20_000
