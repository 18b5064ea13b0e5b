"""iris, digits and Boston housing: the real shipped files read exactly, bad files named clearly."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.model_selection import train_test_split

from components.sources import DataFileError, get_source
from components.sources.tabular import BOSTON_HOUSING, DIGITS, IRIS
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT, apply_split
from tests.components.formats import read_records


def test_iris_is_the_real_shipped_data():
    records = read_records("iris")[ALL_RECORDS]
    iris = load_iris()
    np.testing.assert_allclose([[r[f] for f in IRIS.features] for r in records], iris.data)
    assert [r[IRIS.label] for r in records] == iris.target.tolist()


def test_iris_split_is_the_courses_shuffle_and_last_30():
    splits = apply_split(get_source("iris").default_split, read_records("iris"))
    x = load_iris().data.copy()
    np.random.seed(116)  # the course: np.random.seed(116); np.random.shuffle(x_data); x_data[-30:]
    np.random.shuffle(x)
    assert len(splits[TRAIN_SPLIT]) == 120 and len(splits[EVAL_SPLIT]) == 30
    np.testing.assert_allclose([[r[f] for f in IRIS.features] for r in splits[EVAL_SPLIT]], x[-30:])


@pytest.mark.parametrize(
    "text, message",
    [
        ("150,3,a,b,c\n", r"iris.csv:1: expected the header 'n_samples,4,class names...'"),
        ("1,4,a,b,c\n5.1,3.5,1.4\n", r"iris.csv:2: expected 5 fields"),
        ("1,4,a,b,c\n5.1,x,1.4,0.2,0\n", r"iris.csv:2: field 'sepal_width' expected a number, got 'x'"),
        ("1,4,a,b,c\n5.1,3.5,1.4,0.2,7\n", r"iris.csv: line 2: field 'species' expected a class index 0..2, got 7"),
        ("2,4,a,b,c\n5.1,3.5,1.4,0.2,0\n", r"header announces 2 rows, the file has 1"),
    ],
)
def test_bad_iris_files_name_the_file_line_and_field(tmp_path, text, message):
    (tmp_path / "iris.csv").write_text(text)
    with pytest.raises(DataFileError, match=message):
        read_records("iris", tmp_path / "iris.csv")


def test_digits_is_the_real_shipped_data_split_as_course_003():
    records = read_records("digits")
    digits = load_digits()
    rows = records[ALL_RECORDS]
    np.testing.assert_array_equal(np.stack([r["pixels"] for r in rows]), digits.data)
    splits = apply_split(get_source("digits").default_split, records)
    _, x_test, _, y_test = train_test_split(digits.data, digits.target, test_size=0.2, random_state=1)
    assert (len(splits[TRAIN_SPLIT]), len(splits[EVAL_SPLIT])) == (1437, 360)
    np.testing.assert_array_equal(np.stack([r["pixels"] for r in splits[EVAL_SPLIT]]), x_test)
    assert [r[DIGITS.label] for r in splits[EVAL_SPLIT]] == y_test.tolist()


def test_boston_from_mlxtend_and_split_as_keras_load_data():
    from mlxtend.data import boston_housing_data

    records = read_records("boston_housing")
    x, y = boston_housing_data()
    rows = records[ALL_RECORDS]
    np.testing.assert_allclose([[r[f] for f in BOSTON_HOUSING.features] for r in rows], x)
    splits = apply_split(get_source("boston_housing").default_split, records)
    # keras.datasets.boston_housing.load_data(test_split=0.2, seed=113)
    order = np.arange(len(x))
    np.random.RandomState(113).shuffle(order)
    assert (len(splits[TRAIN_SPLIT]), len(splits[EVAL_SPLIT])) == (404, 102)
    np.testing.assert_allclose([r[BOSTON_HOUSING.label] for r in splits[EVAL_SPLIT]], y[order][404:])


def test_boston_keras_npz_is_preferred_and_checked(tmp_path):
    x = np.arange(26, dtype=float).reshape(2, 13)
    np.savez(tmp_path / "boston_housing.npz", x=x, y=np.array([1.0, 2.0]))
    rows = read_records("boston_housing", tmp_path)[ALL_RECORDS]
    assert [r["lstat"] for r in rows] == [12.0, 25.0] and [r["medv"] for r in rows] == [1.0, 2.0]
    np.savez(tmp_path / "boston_housing.npz", x=x, y=np.array([1.0]))
    with pytest.raises(DataFileError, match=r"boston_housing.npz: 2 rows but 1 labels"):
        read_records("boston_housing", tmp_path)


def test_csv_with_a_missing_column_or_a_word(tmp_path):
    path = tmp_path / "boston_housing.csv"
    path.write_text(",".join(["1"] * 13) + "\n")
    with pytest.raises(DataFileError, match=r"boston_housing.csv:1: expected 14 fields"):
        read_records("boston_housing", path)
    path.write_text(",".join(["1"] * 5 + ["n/a"] + ["1"] * 8) + "\n")
    with pytest.raises(DataFileError, match=r"boston_housing.csv:1: field 'rm' expected a number, got 'n/a'"):
        read_records("boston_housing", path)
