"""Planted data for the validation tests: iris-shaped rows in the real file formats."""
from __future__ import annotations

import csv
import os
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_data_validation as tfdv
from sklearn.datasets import load_iris

from components.sources import get_source
from components.sources.tabular import IRIS
from components.validation.data_forms import load_data
from components.validation.schemas import curate, write_schema

COLUMNS = (*IRIS.features, IRIS.label)


def iris_rows() -> list[dict]:
    iris = load_iris()
    return [dict(zip(IRIS.features, map(float, x), strict=True), **{IRIS.label: int(y)})
            for x, y in zip(iris.data, iris.target, strict=True)]


def sampled_rows(count: int, seed: int, shift: dict[str, float] | None = None) -> list[dict]:
    """`count` rows drawn like iris (each feature normal with iris' mean and std, classes uniform);
    `shift` moves a feature's mean by that many of its standard deviations."""
    iris = load_iris()
    rng = np.random.default_rng(seed)
    means, stds = iris.data.mean(axis=0), iris.data.std(axis=0)
    values = rng.normal(means, stds, size=(count, 4))
    for index, name in enumerate(IRIS.features):
        values[:, index] += (shift or {}).get(name, 0.0) * stds[index]
    labels = rng.integers(0, 3, size=count)
    return [dict(zip(IRIS.features, map(float, row), strict=True), **{IRIS.label: int(label)})
            for row, label in zip(values, labels, strict=True)]


def write_csv(path: str, rows: Sequence[dict], columns: Sequence[str] = COLUMNS) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_iris_source_file(path: str, rows: Sequence[dict]) -> str:
    """The iris source's own format (scikit-learn's iris.csv: a 'n,4,names' header line)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{len(rows)},4,setosa,versicolor,virginica\n")
        for row in rows:
            handle.write(",".join(str(row[name]) for name in COLUMNS) + "\n")
    return path


def write_tfrecord(path: str, examples: Sequence[tf.train.Example]) -> str:
    with tf.io.TFRecordWriter(path) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return path


def iris_schema_file(path: str) -> str:
    """A curated schema of the real iris data, as `coursepipe schema freeze` writes it."""
    source = get_source("iris")
    import sklearn

    data = load_data(os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "iris.csv"),
                     source, source.parse_options({}), None)
    statistics = data.statistics()
    write_schema(curate(tfdv.infer_schema(statistics, infer_feature_shape=True), statistics, IRIS), path)
    return path
