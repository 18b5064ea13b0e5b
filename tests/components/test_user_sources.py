"""A data source of the user's own, named in a spec by dotted path as models are: validated like the
course sources, imported alone by `coursepipe data`, and run end to end by `coursepipe run`."""
from __future__ import annotations

import json

import pytest
import yaml

from components.sources import get_source
from pipelines import cli
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import PipelineSpec
from tests.conftest import spec_with

USER_SOURCE = '''"""Three species of penguin from two measurements, generated."""
import numpy as np

from components.sources import DataSource
from components.splits import ALL_RECORDS, ShuffleSplit
from modules.features import FeatureSet

PENGUINS = FeatureSet(features=("bill_length", "flipper_length"), label="species", num_classes=3)
CENTERS = np.array([[38.0, 190.0], [48.0, 195.0], [47.0, 217.0]])


def generate(_files, _options):
    rng = np.random.RandomState(7)
    records = []
    for i in range(240):
        bill, flipper = CENTERS[i % 3] + rng.randn(2) * [1.5, 4.0]
        records.append({"bill_length": float(bill), "flipper_length": float(flipper), "species": i % 3})
    return {ALL_RECORDS: records}


def penguins():
    return DataSource(id="penguins", description="penguins, generated", features=lambda _: PENGUINS,
                      read=generate, default_split=ShuffleSplit(eval_fraction=0.25, seed=1))


NOT_A_SOURCE = 42
'''


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    package = tmp_path / "code" / "usersrc"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sources.py").write_text(USER_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    return "usersrc.sources"


def _penguin_spec(iris_spec, source: str) -> PipelineSpec:
    return spec_with(
        iris_spec, data={"source": source, "split": None, "options": {}},
        transform={"features": {"bill_length": "zscore", "flipper_length": "zscore"}},
        model={"name": "iris_softmax", "hparams": {"input_shape": [2], "num_classes": 3}},
        training={"epochs": 60, "validation_freq": 20},
        validation={"schema": None}, evaluation={"lower_bound": 0.8},
    )


def test_a_user_source_takes_its_dotted_path_as_id(user_package):
    source = get_source(f"{user_package}:penguins")
    assert source.id == f"{user_package}:penguins"
    assert source.feature_set().all_keys == ("bill_length", "flipper_length", "species")


@pytest.mark.parametrize(("name", "expected"), [
    ("nopkg.sources:penguins", "data.source: data source 'nopkg.sources:penguins': No module named 'nopkg'"),
    ("usersrc.sources:missing", "data.source: data source 'usersrc.sources:missing': 'usersrc.sources' has no 'missing'"),
    ("usersrc.sources:NOT_A_SOURCE", "is not a DataSource nor makes one when called"),
    ("penguinz", "data source 'penguinz' unknown; expected one of: boston_housing"),
])
def test_a_bad_source_name_is_a_spec_error_naming_it(iris_spec, user_package, name, expected):
    with pytest.raises(SpecError) as caught:
        _penguin_spec(iris_spec, name)
    assert expected in str(caught.value)


def test_a_user_source_runs_end_to_end(iris_spec, user_package, tmp_path, capsys):
    spec_file = tmp_path / "penguins.yaml"
    spec_file.write_text(yaml.safe_dump(_penguin_spec(iris_spec, f"{user_package}:penguins").model_dump(mode="json")))

    assert cli.main(["data", f"{user_package}:penguins", "--output", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "240 examples" in out and "train         180 examples" in out

    assert cli.main(["run", "--spec", str(spec_file), "--output", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["blessed"] is True and len(summary["executed"]) == 8
