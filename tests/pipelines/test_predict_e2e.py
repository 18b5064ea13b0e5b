"""`coursepipe predict` on the session's iris run: what the pushed model's serving signature answers,
one row per example; data with schema anomalies is refused and nothing is written."""
from __future__ import annotations

import csv
import os

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_iris

from components.example_gen import to_example
from components.sources.tabular import IRIS
from modules.export import OUTPUT_KEY, SERVING_SIGNATURE
from pipelines import cli
from tests.components.validation_data import write_csv

ROWS = [0, 1, 50, 51, 100, 149]


def _iris_rows(with_label: bool) -> list[dict]:
    iris = load_iris()
    return [{**dict(zip(IRIS.features, map(float, iris.data[i]), strict=True)),
             **({IRIS.label: int(iris.target[i])} if with_label else {})} for i in ROWS]


def test_predictions_equal_the_pushed_models_serving_signature(runs, tmp_path, capsys):
    (summary, _), _, output = runs
    data = write_csv(str(tmp_path / "requests.csv"), _iris_rows(with_label=False), IRIS.features)
    target = tmp_path / "out" / "predictions.csv"
    assert cli.main(["predict", "iris_softmax", "--output", output, "--data", data, "--to", str(target)]) == 0
    assert "6 predictions" in capsys.readouterr().out
    with open(target, newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))

    serialized = [to_example(row).SerializeToString() for row in _iris_rows(with_label=False)]
    model = tf.saved_model.load(summary.pushed_destination)
    expected = model.signatures[SERVING_SIGNATURE](examples=tf.constant(serialized))[OUTPUT_KEY].numpy()
    got = np.array([[float(row[f"probability_{k}"]) for k in range(3)] for row in written])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert [int(row["predicted_class"]) for row in written] == list(expected.argmax(axis=1))
    assert [int(row["example"]) for row in written] == list(range(len(ROWS)))


def test_data_with_anomalies_is_refused_and_nothing_is_written(runs, tmp_path, capsys):
    _, _, output = runs
    columns = [name for name in IRIS.features if name != "petal_width"]
    data = write_csv(str(tmp_path / "requests.csv"), _iris_rows(with_label=False), columns)
    target = tmp_path / "predictions.csv"
    assert cli.main(["predict", "iris_softmax", "--output", output, "--data", data, "--to", str(target)]) == 1
    out = capsys.readouterr().out
    assert "petal_width" in out and "nothing scored" in out
    assert not os.path.exists(target)


def test_a_model_directory_without_a_saved_model_is_a_usage_error(runs, tmp_path, capsys):
    _, _, output = runs
    data = write_csv(str(tmp_path / "requests.csv"), _iris_rows(with_label=True))
    code = cli.main(["predict", "iris_softmax", "--output", output, "--data", data, "--to", str(tmp_path / "p.csv"),
                     "--model", str(tmp_path)])
    assert code == 2 and "--model" in capsys.readouterr().err


class _OtherModel(tf.Module):
    """A model of another pipeline: its serving_default takes a float tensor `x`."""

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        return {"scores": x * 2.0}


def test_a_damaged_or_foreign_model_is_a_usage_error_naming_the_problem(runs, tmp_path, capsys):
    _, _, output = runs
    data = write_csv(str(tmp_path / "requests.csv"), _iris_rows(with_label=False), IRIS.features)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "saved_model.pb").write_bytes(b"\x08\x01 not a protocol buffer \xff\xff")
    foreign = tmp_path / "foreign"
    module = _OtherModel()
    tf.saved_model.save(module, str(foreign), signatures={SERVING_SIGNATURE: module.serve})
    for model, expected in ((damaged, "not a SavedModel TensorFlow can load"),
                            (foreign, f"its {SERVING_SIGNATURE} takes x and returns scores; expected serialized "
                                      f"tf.Examples (examples) in")):
        code = cli.main(["predict", "iris_softmax", "--output", output, "--data", data,
                         "--to", str(tmp_path / "p.csv"), "--model", str(model)])
        err = capsys.readouterr().err
        assert code == 2 and f"--model: {model}: " in err and expected in err, err
        assert "Traceback" not in err and not (tmp_path / "p.csv").exists()


def test_prediction_rows_name_the_classes_and_read_one_sigmoid_unit_as_two_probabilities():
    from pipelines.data.predictions import prediction_rows
    from pipelines.spec.pipeline_spec import PipelineSpec, load_spec

    taxi = load_spec("taxi_tips")  # a derived 0/1 label, one sigmoid unit
    header, rows = prediction_rows(taxi, np.array([[0.9], [0.2]], dtype=np.float32))
    assert header == ["example", "predicted_class", "probability_0", "probability_1"]
    assert rows[0][1] == 1 and rows[1][1] == 0
    np.testing.assert_allclose([rows[0][2], rows[0][3]], [0.1, 0.9], rtol=1e-6)
    named = taxi.model_dump(mode="json")
    named["data"] = {"source": "csv", "options": {
        "columns": [{"name": "fare"}, {"name": "payment", "kind": "string"}], "label": "payment",
        "classes": ["Cash", "Card"]}}
    named["transform"] = {"features": {"fare": "zscore"}}
    named["model"]["hparams"]["input_shape"] = [1]
    header, rows = prediction_rows(PipelineSpec.from_dict(named), np.array([[0.7]], dtype=np.float32))
    assert header[2:] == ["probability_Cash", "probability_Card"] and rows[0][1] == "Card"
