"""Edited code is not served from cache: a user's builder named by dotted path, changed between
two runs of the same spec, re-executes the Trainer and what follows it, and so does a helper in
another top-level package the builder imports; an edited data source of the user's own re-executes
ExampleGen; an unchanged tree executes nothing; `--no-cache` executes everything. Each run is its
own `coursepipe` process, as a user runs it (a module edited on disk is re-imported only by a new
process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.components.test_user_sources import USER_SOURCE
from tests.conftest import spec_with

BUILDER = '''import tf_keras as keras

from myhelpers.widths import HIDDEN


def tiny(hparams):
    return keras.Sequential([
        keras.Input(shape=hparams.input_shape),
        keras.layers.Dense(HIDDEN, activation="relu"),
        keras.layers.Dense(hparams.units, activation="softmax"),
    ])
'''
HELPER = "HIDDEN = 8\n"


def _coursepipe(*argv: str, pythonpath: Path) -> dict:
    coursepipe = Path(sys.executable).parent / "coursepipe"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([str(coursepipe), *argv, "--json"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_edited_user_code_re_executes_the_components_that_run_it(iris_spec, tmp_path, monkeypatch):
    package, helpers = tmp_path / "code" / "mypkg", tmp_path / "code" / "myhelpers"
    package.mkdir(parents=True)
    helpers.mkdir()
    for folder in (package, helpers):
        (folder / "__init__.py").write_text("")
    (package / "models.py").write_text(BUILDER)
    (package / "sources.py").write_text(USER_SOURCE)
    (helpers / "widths.py").write_text(HELPER)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))  # the spec is validated here too
    spec = spec_with(iris_spec, data={"source": "mypkg.sources:penguins", "split": None, "options": {}},
                     transform={"features": {"bill_length": "zscore", "flipper_length": "zscore"}},
                     model={"name": "mypkg.models:tiny", "hparams": {"input_shape": [2], "units": 3}},
                     validation={"schema": None}, training={"epochs": 5, "validation_freq": 5},
                     evaluation={"lower_bound": 0.0})
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    run = ["run", "--spec", str(spec_file), "--output", str(tmp_path / "out")]

    first = _coursepipe(*run, pythonpath=tmp_path / "code")
    assert len(first["executed"]) == 8

    (package / "models.py").write_text(BUILDER.replace('activation="relu"', 'activation="tanh"'))
    edited = _coursepipe(*run, pythonpath=tmp_path / "code")
    assert {"Trainer", "Evaluator", "Pusher"} <= set(edited["executed"])
    assert not {"CourseExampleGen", "StatisticsGen", "Transform"} & set(edited["executed"])

    (helpers / "widths.py").write_text("HIDDEN = 12\n")  # another top-level package than the builder's
    helper_edited = _coursepipe(*run, pythonpath=tmp_path / "code")
    assert {"Trainer", "Evaluator", "Pusher"} <= set(helper_edited["executed"])
    assert "CourseExampleGen" not in helper_edited["executed"]

    (package / "sources.py").write_text(USER_SOURCE.replace("range(240)", "range(210)"))
    source_edited = _coursepipe(*run, pythonpath=tmp_path / "code")
    assert {"CourseExampleGen", "StatisticsGen", "Transform", "Trainer"} <= set(source_edited["executed"])

    unchanged = _coursepipe(*run, pythonpath=tmp_path / "code")
    assert unchanged["executed"] == []

    forced = _coursepipe(*run, "--no-cache", pythonpath=tmp_path / "code")
    assert forced["cached"] == [] and "Transform" in forced["executed"]
