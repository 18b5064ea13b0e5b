"""The iris source: reads scikit-learn's file exactly, rejects bad files clearly, splits as the course."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from components.example_gen import EVAL_SPLIT, TRAIN_SPLIT, split_course_style, to_example
from components.sources import IRIS_SOURCE, DataFileError, get_source
from modules.features import IRIS


def _write(tmp_path, text):
    path = tmp_path / "iris.csv"
    path.write_text(text)
    return str(path)


def test_reads_the_real_shipped_iris_data_exactly():
    records = list(IRIS_SOURCE.read(IRIS_SOURCE.default_path()))
    iris = load_iris()
    assert len(records) == 150
    np.testing.assert_allclose([[r[f] for f in IRIS.features] for r in records], iris.data)
    assert [r[IRIS.label] for r in records] == iris.target.tolist()


@pytest.mark.parametrize(
    "text, message",
    [
        ("150,3,a,b,c\n", r"iris.csv:1: expected the header 'n_samples,4,class names...'"),
        ("1,4,a,b,c\n5.1,3.5,1.4\n", r"iris.csv:2: expected 5 fields"),
        ("1,4,a,b,c\n5.1,x,1.4,0.2,0\n", r"iris.csv:2: field 'sepal_width' expected a number, got 'x'"),
        ("1,4,a,b,c\n5.1,3.5,1.4,0.2,7\n", r"iris.csv:2: field 'species' expected a class index 0..2, got '7'"),
        ("2,4,a,b,c\n5.1,3.5,1.4,0.2,0\n", r"header announces 2 rows, the file has 1"),
    ],
)
def test_bad_files_name_the_file_line_and_field(tmp_path, text, message):
    with pytest.raises(DataFileError, match=message):
        list(IRIS_SOURCE.read(_write(tmp_path, text)))


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="cannot open"):
        list(IRIS_SOURCE.read(str(tmp_path / "nope.csv")))


def test_split_is_the_courses_shuffle_and_validation_split():
    records = list(IRIS_SOURCE.read(IRIS_SOURCE.default_path()))
    splits = split_course_style(records, eval_fraction=0.2, seed=116)
    # The course: np.random.seed(116); np.random.shuffle(x); fit(..., validation_split=0.2).
    x = load_iris().data.copy()
    np.random.seed(116)
    np.random.shuffle(x)
    assert len(splits[TRAIN_SPLIT]) == 120 and len(splits[EVAL_SPLIT]) == 30
    np.testing.assert_allclose([[r[f] for f in IRIS.features] for r in splits[EVAL_SPLIT]], x[120:])


def test_to_example_keeps_types():
    example = to_example({"a": 1.5, "b": 2})
    assert example.features.feature["a"].float_list.value == [1.5]
    assert example.features.feature["b"].int64_list.value == [2]


def test_unknown_source_lists_the_known_ones():
    with pytest.raises(KeyError, match="expected one of: iris"):
        get_source("irs")
