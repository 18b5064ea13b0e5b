"""A user's own data end to end, through the CLI: `coursepipe init` on TFX's taxi CSV and a run that
blesses its model; a CSV of the user's own with class names, validated, compared for drift and
stopped by a drifted span exactly as the course sources are; TFRecords of the user's own."""
from __future__ import annotations

import csv
import glob
import os
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import pytest
import tensorflow as tf
import yaml
from sklearn.datasets import load_iris

from components.shipped import package_data_dir
from modules.export import CLASSES_KEY, SERVING_SIGNATURE
from pipelines import cli
from pipelines.runs.summary import latest_run_summary

TAXI_CSV = os.path.join(package_data_dir("tfx", "examples", "chicago_taxi_pipeline", "data", "simple"), "data.csv")
SPECIES = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _cli(*argv: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def taxi_init(tmp_path_factory):
    root = tmp_path_factory.mktemp("taxi_init")
    spec_file = str(root / "taxi_payment.yaml")
    init = _cli("init", "taxi_payment", "--data", TAXI_CSV, "--label", "payment_type", "--to", spec_file)
    run = _cli("run", "--spec", spec_file, "--output", str(root / "run"))
    return spec_file, init, run, latest_run_summary(str(root / "run" / "metadata.sqlite"))


def test_init_writes_a_spec_of_the_taxi_columns(taxi_init):
    spec_file, (code, output), *_ = taxi_init
    assert code == 0, output
    spec = yaml.safe_load(open(spec_file, encoding="utf-8"))
    options = spec["data"]["options"]
    assert spec["data"]["source"] == "csv" and options["label"] == "payment_type"
    assert options["classes"] == ["Cash", "Credit Card", "Dispute", "No Charge", "Pcard", "Prcard", "Unknown"]
    columns = {column["name"]: column for column in options["columns"]}
    assert columns["company"] == {"name": "company", "kind": "string", "missing": "keep"}
    features = spec["transform"]["features"]
    assert features["company"]["kind"] == "categorical" and features["company"]["fill"] == ""
    assert features["trip_start_hour"] == {"kind": "categorical", "top_k": 24}
    assert features["fare"] == {"kind": "zscore"} and "fill" in features["dropoff_latitude"]
    assert "pickup_census_tract" not in features  # 15,001 of 15,002 cells empty
    assert spec["model"]["name"] == "tabular_mlp" and spec["model"]["hparams"]["num_classes"] == 7
    # The gate is the share of the most common class (Cash), rounded up.
    cash = sum(row["payment_type"] == "Cash" for row in csv.DictReader(open(TAXI_CSV, encoding="utf-8")))
    assert spec["evaluation"]["lower_bound"] >= cash / 15002


def test_the_initialised_pipeline_runs_and_blesses_a_model_that_answers_with_class_names(taxi_init):
    _, (_, said), (code, output), summary = taxi_init
    assert code == 0, output
    assert summary.blessed is True and summary.pushed_destination
    # Pcard: a few rows in 15,002; warned of, not refused (the gate over the rest still means something).
    assert "Pcard" in said.split("warning: class(es) ")[1].split(" have too few rows")[0], said
    served = tf.saved_model.load(summary.pushed_destination).signatures[SERVING_SIGNATURE]
    example = tf.train.Example()
    example.features.feature["fare"].float_list.value.append(30.0)
    example.features.feature["tips"].float_list.value.append(8.0)
    for name in ("trip_start_month", "trip_start_hour", "trip_start_day", "trip_start_timestamp"):
        example.features.feature[name].int64_list.value.append(5)
    example.features.feature["trip_miles"].float_list.value.append(10.0)
    classes = served(examples=tf.constant([example.SerializeToString()]))[CLASSES_KEY].numpy()
    assert classes[0].decode() in ("Cash", "Credit Card", "Dispute", "No Charge", "Pcard", "Prcard", "Unknown")


def _write_garden_csv(path: str, shift: float = 0.0, garden: str | None = None) -> str:
    """iris with species names and a garden column (a string category), as a user's CSV."""
    iris = load_iris()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES, "garden", "species"])
        for index, (x, y) in enumerate(zip(iris.data, iris.target, strict=True)):
            values = [round(float(v) + (shift if name == "petal_length" else 0.0), 2)
                      for name, v in zip(FEATURES, x, strict=True)]
            writer.writerow([*values, garden or ("north" if index % 2 else "south"), SPECIES[y]])
    return path


GARDEN_SPEC = {
    "id": "garden_iris",
    "description": "iris from a user's CSV with class names and a string column",
    "data": {"source": "csv", "options": {
        "columns": [*({"name": name} for name in FEATURES), {"name": "garden", "kind": "string"},
                    {"name": "species", "kind": "string"}],
        "label": "species", "classes": SPECIES}},
    "transform": {"features": {**{name: "zscore" for name in FEATURES},
                               "garden": {"kind": "categorical", "top_k": 4}},
                  "statistics": True, "materialize": True},
    "model": {"name": "tabular_mlp", "hparams": {"input_shape": [9], "hidden": [8], "num_classes": 3, "seed": 1}},
    "training": {"batch_size": 16, "epochs": 30, "optimizer": {"name": "adam", "learning_rate": 0.02},
                 "loss": "sparse_categorical_crossentropy", "metrics": ["sparse_categorical_accuracy"],
                 "validation_freq": 10, "seed": 1},
    "evaluation": {"metric": "sparse_categorical_accuracy", "lower_bound": 0.5},
}


@pytest.fixture(scope="module")
def garden(tmp_path_factory):
    root = tmp_path_factory.mktemp("garden")
    spec_file = str(root / "garden_iris.yaml")
    with open(spec_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(GARDEN_SPEC, handle)
    data, output = str(root / "data"), str(root / "run")
    _write_garden_csv(os.path.join(data, "span-1", "iris.csv"))
    common = ["--spec", spec_file, "--output", output]
    first = _cli("run", *common, "--data-dir", data)
    checks = {
        "validate_same": _cli("validate", *common, "--data", os.path.join(data, "span-1", "iris.csv")),
        "validate_new_garden": _cli("validate", *common, "--data",
                                    _write_garden_csv(str(root / "west" / "iris.csv"), garden="west")),
        "drift": _cli("drift", *common, "--baseline", os.path.join(data, "span-1", "iris.csv"),
                      "--current", _write_garden_csv(str(root / "shifted" / "iris.csv"), shift=3.5)),
    }
    _write_garden_csv(os.path.join(data, "span-2", "iris.csv"), shift=3.5)
    second = _cli("run", *common, "--data-dir", data)
    return first, checks, second, latest_run_summary(os.path.join(output, "metadata.sqlite")), output


def test_own_csv_runs_blessed(garden):
    (code, output), *_, run_dir = garden
    assert code == 0, output
    assert "blessed: yes" in output
    # `transform.statistics: true` and `materialize: true`: Transform's own statistics of its input
    # and output, and the transformed examples the Trainer then reads, as TFX's defaults.
    for output_key in ("pre_transform_stats", "post_transform_stats", "post_transform_anomalies",
                       "transformed_examples"):
        assert glob.glob(os.path.join(run_dir, "pipeline", "Transform", output_key, "*", "*")), output_key


def test_validate_and_drift_work_on_csv_data_as_on_course_sources(garden):
    _, checks, *_ = garden
    code, output = checks["validate_same"]
    assert code == 0, output
    code, output = checks["validate_new_garden"]
    assert code == 1, output
    assert "garden" in output and "ENUM_TYPE_UNEXPECTED_STRING_VALUES" in output
    code, output = checks["drift"]
    assert code == 1, output
    drifted = [line for line in output.splitlines() if "petal_length" in line]
    assert drifted and any("drift" in line.lower() or "COMPARATOR" in line for line in drifted), output


def test_serving_data_of_the_models_columns_is_validated_and_scored_with_an_id_carried(garden, tmp_path):
    """A file of the features alone (no label), in another order, with a column the pipeline
    never read: validated and scored as the training file's rows are, the id carried along."""
    *_, run_dir = garden
    training_rows = tmp_path / "training_rows.csv"
    _write_garden_csv(str(training_rows))
    with open(training_rows, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:6]
    serving = tmp_path / "requests.csv"
    with open(serving, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["plant_id", "garden", *reversed(FEATURES)])
        for number, row in enumerate(rows):
            writer.writerow([f"p-{number}", row["garden"], *(row[name] for name in reversed(FEATURES))])
    spec = ["--spec", os.path.join(os.path.dirname(run_dir), "garden_iris.yaml"), "--output", run_dir]
    code, output = _cli("validate", *spec, "--data", str(serving))
    assert code == 0 and "no anomalies" in output, output
    scored, reference = tmp_path / "scored.csv", tmp_path / "reference.csv"
    code, output = _cli("predict", *spec, "--data", str(serving), "--to", str(scored), "--keep", "plant_id")
    assert code == 0, output
    first_six = tmp_path / "first_six.csv"
    with open(first_six, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert _cli("predict", *spec, "--data", str(first_six), "--to", str(reference))[0] == 0
    with open(scored, encoding="utf-8") as handle:
        got = list(csv.DictReader(handle))
    with open(reference, encoding="utf-8") as handle:
        expected = list(csv.DictReader(handle))
    assert [row["plant_id"] for row in got] == [f"p-{number}" for number in range(6)]
    assert [row["predicted_class"] for row in got] == [row["predicted_class"] for row in expected]
    assert [float(row["probability_setosa"]) for row in got] == pytest.approx(
        [float(row["probability_setosa"]) for row in expected], rel=1e-5)


def test_a_drifted_csv_span_stops_the_run_before_transform(garden):
    *_, (code, output), summary, _ = garden
    assert code == 1, output
    assert summary.failed == ["ExampleValidator"] and summary.span == 2
    assert any("COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH" in line and "petal_length" in line
               for line in output.splitlines()), output


def _garden_examples(split: str) -> list[bytes]:
    """iris as tf.Examples with species names; every fifth flower is in the eval split."""
    iris = load_iris()
    examples = []
    for index, (x, y) in enumerate(zip(iris.data, iris.target, strict=True)):
        if (index % 5 == 0) != (split == "eval"):
            continue
        example = tf.train.Example()
        for name, value in zip(FEATURES, x, strict=True):
            example.features.feature[name].float_list.value.append(float(value))
        example.features.feature["garden"].bytes_list.value.append(b"north" if index % 2 else b"south")
        example.features.feature["species"].bytes_list.value.append(SPECIES[y].encode())
        examples.append(example.SerializeToString())
    return examples


def test_own_tfrecords_in_tfx_split_folders_run_with_their_given_split(tmp_path):
    for split in ("train", "eval"):
        folder = tmp_path / "records" / f"Split-{split}"
        folder.mkdir(parents=True)
        with tf.io.TFRecordWriter(str(folder / "data_tfrecord-00000-of-00001.gz"),
                                  options=tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
            for example in _garden_examples(split):
                writer.write(example)
    spec = {**GARDEN_SPEC, "id": "garden_records",
            "data": {**GARDEN_SPEC["data"], "source": "tfrecord", "path": str(tmp_path / "records"),
                     "split": {"kind": "given"}}}
    spec_file = tmp_path / "garden_records.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    code, output = _cli("run", "--spec", str(spec_file), "--output", str(tmp_path / "run"))
    assert code == 0, output
    assert "blessed: yes" in output
    # The given split: 120 training and 30 eval examples, as written.
    summary = latest_run_summary(str(tmp_path / "run" / "metadata.sqlite"))
    assert summary.metrics["example_count"] == 30


def test_init_on_the_taxi_tfrecords_tfx_ships_runs_a_regression_that_beats_the_median(tmp_path):
    records = package_data_dir("tfx", "components", "testdata", "csv_example_gen")
    spec_file = str(tmp_path / "taxi_tips_amount.yaml")
    code, output = _cli("init", "taxi_tips_amount", "--data", records, "--label", "tips", "--to", spec_file)
    assert code == 0, output
    spec = yaml.safe_load(open(spec_file, encoding="utf-8"))
    assert spec["data"]["source"] == "tfrecord" and spec["evaluation"]["metric"] == "mean_absolute_error"
    code, output = _cli("run", "--spec", spec_file, "--output", str(tmp_path / "run"))
    assert code == 0, output
    summary = latest_run_summary(str(tmp_path / "run" / "metadata.sqlite"))
    assert summary.blessed is True
    assert summary.metrics["mean_absolute_error"] < spec["evaluation"]["upper_bound"]
