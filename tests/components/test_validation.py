"""Data validation: planted anomalies, drift, skew, and the validate / drift / schema commands."""
from __future__ import annotations

import os

import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from components.example_gen import to_example
from components.sources import get_source
from components.sources.tabular import IRIS
from components.sources.text import IMDB_TEXT
from components.validation.anomalies import errors_and_warnings
from components.validation.checks import compare_data, validate_training_data
from components.validation.config import Thresholds
from components.validation.data_forms import load_data, statistics_of
from components.validation.schemas import read_schema, shipped_schemas_dir, write_schema
from pipelines import cli
from tests.components.validation_data import (
    COLUMNS,
    iris_rows,
    iris_schema_file,
    sampled_rows,
    write_csv,
    write_iris_source_file,
    write_tfrecord,
)

EXIT_OK, EXIT_ANOMALIES, EXIT_USAGE = 0, 1, 2


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory) -> str:
    return iris_schema_file(str(tmp_path_factory.mktemp("schema") / "iris.pbtxt"))


def _validate(capsys, schema_file, data, tmp_path, *extra):
    code = cli.main(["validate", "iris_softmax", "--data", str(data), "--schema", schema_file,
                     "--report", str(tmp_path / "report.html"), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _kinds(out: str) -> dict[str, set[str]]:
    """feature -> anomaly kinds, from the printed anomaly lines."""
    found: dict[str, set[str]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith(":") and parts[2].isupper():
            found.setdefault(parts[1], set()).add(parts[2])
    return found


def test_clean_data_in_the_sources_own_format_has_no_anomalies(capsys, schema_file, tmp_path):
    data = write_iris_source_file(str(tmp_path / "drop" / "iris.csv"), iris_rows())
    code, out, _ = _validate(capsys, schema_file, data, tmp_path)
    assert code == EXIT_OK, out
    assert "(source, 150 examples)" in out and "no anomalies" in out


def test_missing_feature_and_wrong_type_in_a_csv(capsys, schema_file, tmp_path):
    rows = [dict(row, sepal_width="wide") for row in iris_rows()]
    data = write_csv(str(tmp_path / "new.csv"), rows, [c for c in COLUMNS if c != "petal_width"])
    code, out, _ = _validate(capsys, schema_file, data, tmp_path)
    assert code == EXIT_ANOMALIES
    kinds = _kinds(out)
    assert kinds["petal_width"] == {"SCHEMA_MISSING_COLUMN"}
    assert kinds["sepal_width"] == {"UNEXPECTED_DATA_TYPE"}
    assert "Expected data of type: FLOAT but got STRING" in out
    assert set(kinds) == {"petal_width", "sepal_width"}


def test_out_of_domain_label(capsys, schema_file, tmp_path):
    rows = iris_rows()
    rows[0] = dict(rows[0], species=3)
    code, out, _ = _validate(capsys, schema_file, write_csv(str(tmp_path / "labels.csv"), rows), tmp_path)
    assert code == EXIT_ANOMALIES
    assert _kinds(out) == {"species": {"INT_TYPE_BIG_INT"}}


def test_out_of_domain_category(capsys, schema_file, tmp_path):
    schema = read_schema(schema_file)
    color = schema.feature.add(name="color", type=schema_pb2.BYTES)
    color.domain = "color"
    color.presence.min_fraction = 1.0
    schema.string_domain.add(name="color", value=["red", "green"])
    write_schema(schema, str(tmp_path / "colors.pbtxt"))
    rows = [dict(row, color="red" if i else "blue") for i, row in enumerate(iris_rows())]
    data = write_csv(str(tmp_path / "colors.csv"), rows, [*COLUMNS, "color"])
    code = cli.main(["validate", "iris_softmax", "--data", data, "--schema", str(tmp_path / "colors.pbtxt"),
                     "--report", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    assert code == EXIT_ANOMALIES
    assert _kinds(out) == {"color": {"ENUM_TYPE_UNEXPECTED_STRING_VALUES"}}


def test_value_count_change_in_tfrecords(capsys, schema_file, tmp_path):
    examples = []
    for row in iris_rows():
        example = to_example(row, IRIS)
        example.features.feature["petal_length"].float_list.value.append(0.0)  # two values, not one
        examples.append(example)
    data = write_tfrecord(str(tmp_path / "two_values.tfrecord"), examples)
    code, out, _ = _validate(capsys, schema_file, data, tmp_path)
    assert code == EXIT_ANOMALIES
    assert "(tfrecord, 150 examples)" in out
    assert _kinds(out)["petal_length"] & {"FEATURE_TYPE_HIGH_NUMBER_VALUES", "INVALID_FEATURE_SHAPE"}


def test_serving_data_without_the_label_passes(capsys, schema_file, tmp_path):
    data = write_csv(str(tmp_path / "serving.csv"), iris_rows(), IRIS.features)
    code, out, _ = _validate(capsys, schema_file, data, tmp_path)
    assert code == EXIT_OK, out


def test_report_is_written_with_the_anomalies(capsys, schema_file, tmp_path):
    data = write_csv(str(tmp_path / "new.csv"), iris_rows(), [c for c in COLUMNS if c != "petal_width"])
    _validate(capsys, schema_file, data, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "SCHEMA_MISSING_COLUMN" in page and "facets-overview" in page


def _drift(capsys, schema_file, baseline, current, tmp_path):
    code = cli.main(["drift", "iris_softmax", "--baseline", baseline, "--current", current,
                     "--schema", schema_file, "--report", str(tmp_path / "drift.html")])
    return code, capsys.readouterr().out


def _drift_table(out: str) -> dict[str, tuple[float, float, str]]:
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[4] in ("yes", "no"):
            table[parts[0]] = (float(parts[2]), float(parts[3]), parts[4])
    return table


def test_a_one_standard_deviation_shift_is_drift(capsys, schema_file, tmp_path):
    baseline = write_csv(str(tmp_path / "a.csv"), sampled_rows(1000, seed=1))
    current = write_csv(str(tmp_path / "b.csv"), sampled_rows(1000, seed=2, shift={"petal_length": 1.0}))
    code, out = _drift(capsys, schema_file, baseline, current, tmp_path)
    table = _drift_table(out)
    assert code == EXIT_ANOMALIES
    assert table["petal_length"][2] == "yes" and table["petal_length"][0] > table["petal_length"][1]
    assert [name for name, row in table.items() if row[2] == "yes"] == ["petal_length"]
    assert set(table) == set(COLUMNS)
    assert "drifted: petal_length" in out


def test_a_fresh_sample_of_the_same_distribution_is_not_drift(capsys, schema_file, tmp_path):
    baseline = write_csv(str(tmp_path / "a.csv"), sampled_rows(1000, seed=1))
    current = write_csv(str(tmp_path / "b.csv"), sampled_rows(1000, seed=3))
    code, out = _drift(capsys, schema_file, baseline, current, tmp_path)
    assert code == EXIT_OK, out
    assert all(row[2] == "no" for row in _drift_table(out).values()) and "drifted: none" in out


def test_label_frequencies_are_compared_by_l_infinity(capsys, schema_file, tmp_path):
    baseline = write_csv(str(tmp_path / "a.csv"), sampled_rows(1000, seed=1))
    skewed = [dict(row, species=0) if i % 2 else row for i, row in enumerate(sampled_rows(1000, seed=4))]
    code, out = _drift(capsys, schema_file, baseline, write_csv(str(tmp_path / "b.csv"), skewed), tmp_path)
    assert code == EXIT_ANOMALIES
    assert "L_INFTY" in out and _drift_table(out)["species"][2] == "yes"
    # The same comparison's anomaly row is named as drift (TFDV's kind is COMPARATOR_L_INFTY_HIGH).
    schema = read_schema(schema_file)
    outcome = compare_data(_statistics(sampled_rows(1000, seed=1), schema=schema), _statistics(skewed, schema=schema),
                           schema, IRIS.label, Thresholds())
    assert [(row.where, row.feature, row.kind) for row in outcome.rows] == [
        ("drift vs baseline", "species", "COMPARATOR_L_INFTY_HIGH")]


def _statistics(rows, columns=COLUMNS, schema=None):
    return statistics_of([to_example({c: r[c] for c in columns}, IRIS).SerializeToString() for r in rows], "rows", schema)


def test_serving_data_missing_a_feature_and_skewed(schema_file):
    schema = read_schema(schema_file)
    training = _statistics(sampled_rows(1000, seed=1))
    serving = _statistics(sampled_rows(1000, seed=5, shift={"sepal_length": 2.0}),
                          [c for c in IRIS.features if c != "petal_width"])
    outcome = validate_training_data({"train": training}, schema, IRIS.label, serving=serving, skew=Thresholds())
    rows = {(row.where, row.feature, row.kind) for row in outcome.rows}
    assert ("serving", "petal_width", "SCHEMA_MISSING_COLUMN") in rows
    assert ("skew vs serving", "sepal_length", "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH") in rows
    # The label is TRAINING-only: serving data without it is not an anomaly.
    assert not any(row.feature == IRIS.label for row in outcome.rows)


def test_warn_on_lets_chosen_kinds_through(schema_file):
    schema = read_schema(schema_file)
    outcome = validate_training_data(
        {"train": _statistics(sampled_rows(500, seed=2, shift={"petal_length": 2.0}))}, schema, IRIS.label,
        previous=_statistics(sampled_rows(500, seed=1)), drift=Thresholds(),
    )
    assert [row.where for row in outcome.rows] == ["drift vs previous span"]
    errors, warnings = errors_and_warnings(outcome.rows, ["COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH"])
    assert errors == [] and len(warnings) == 1
    errors, _ = errors_and_warnings(outcome.rows, [])
    assert len(errors) == 1


def test_per_feature_thresholds():
    thresholds = Thresholds(jensen_shannon_divergence=0.2, features={"petal_length": 0.05})
    assert thresholds.threshold_for("petal_length", categorical=False) == 0.05
    assert thresholds.threshold_for("sepal_length", categorical=False) == 0.2
    assert thresholds.threshold_for("species", categorical=True) == 0.1


def test_bad_input_is_a_usage_error(capsys, schema_file, tmp_path):
    code, _, err = _validate(capsys, schema_file, tmp_path / "absent.csv", tmp_path)
    assert code == EXIT_USAGE and "--data:" in err and "absent.csv does not exist" in err
    (tmp_path / "data.bin").write_bytes(b"\0\1")
    code, _, err = _validate(capsys, schema_file, tmp_path / "data.bin", tmp_path)
    assert code == EXIT_USAGE and "expected the iris source's files" in err and "TFRecords" in err
    (tmp_path / "broken.pbtxt").write_text("feature { name: ")
    code = cli.main(["validate", "iris_softmax", "--data", write_csv(str(tmp_path / "x.csv"), iris_rows()),
                     "--schema", str(tmp_path / "broken.pbtxt")])
    assert code == EXIT_USAGE and "broken.pbtxt: not a tensorflow_metadata Schema" in capsys.readouterr().err


def test_no_schema_anywhere_is_a_usage_error(capsys, tmp_path):
    code = cli.main(["validate", "stock_lstm", "--output", str(tmp_path / "none"),
                     "--data", write_csv(str(tmp_path / "x.csv"), iris_rows())])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "no schema to check against" in err and "coursepipe schema freeze stock_lstm" in err


def test_free_text_gets_no_domain_in_a_curated_schema(tmp_path):
    source = get_source("imdb_text")
    reviews = [{"text": f"review number {i}", "label": i % 2} for i in range(20)]
    (tmp_path / "reviews.csv").write_text("label,text\n" + "".join(f"{r['label']},{r['text']}\n" for r in reviews))
    data = load_data(str(tmp_path / "reviews.csv"), source, source.parse_options({}), None)
    statistics = data.statistics()
    import tensorflow_data_validation as tfdv

    from components.validation.schemas import curate

    inferred = tfdv.infer_schema(statistics, infer_feature_shape=True)
    assert tfdv.get_feature(inferred, "text").HasField("domain")  # what TFDV infers from 20 reviews
    curated = curate(inferred, statistics, IMDB_TEXT)
    assert not tfdv.get_feature(curated, "text").HasField("domain") and not curated.string_domain
    label = tfdv.get_feature(curated, "label")
    assert (label.int_domain.min, label.int_domain.max, label.int_domain.is_categorical) == (0, 1, True)
    assert list(label.not_in_environment) == ["SERVING"]


SHIPPED = sorted(name[: -len(".pbtxt")] for name in os.listdir(shipped_schemas_dir()))


@pytest.mark.parametrize("spec_id", SHIPPED)
def test_shipped_schemas_accept_their_pipelines_data(spec_id):
    """Each curated schema passes the data its spec reads on every machine (shipped or generated)."""
    from components.example_gen import read_source_splits
    from components.sources import locate
    from components.validation.checks import validate_data
    from components.validation.schemas import schema_path
    from pipelines.spec.pipeline_spec import load_spec

    spec = load_spec(spec_id)
    assert spec.validation.schema_file == f"{spec_id}.pbtxt"
    source = get_source(spec.data.source)
    options = source.parse_options(spec.data.options)
    files = [] if source.generated else locate(source, None).local_files()
    splits = read_source_splits(source, files, options, spec.data.split or source.default_split)
    schema = read_schema(schema_path(spec.validation.schema_file))
    for split, examples in splits.items():
        outcome = validate_data(statistics_of(examples, split, schema), schema, spec.data.feature_set().label, split)
        assert outcome.rows == [], outcome.rows


@pytest.mark.parametrize("use_schema", [True, False], ids=["curated schema", "schema inferred from the baseline"])
def test_drift_reports_a_feature_missing_from_the_current_data(capsys, schema_file, tmp_path, use_schema):
    baseline = write_csv(str(tmp_path / "a.csv"), sampled_rows(300, seed=1))
    current = write_csv(str(tmp_path / "b.csv"), sampled_rows(300, seed=2), [c for c in COLUMNS if c != "petal_width"])
    argv = ["drift", "iris_softmax", "--baseline", baseline, "--current", current, "--report", str(tmp_path / "d.html"),
            "--output", str(tmp_path / "no-runs")]
    code = cli.main([*argv, "--schema", schema_file] if use_schema else argv)
    out = capsys.readouterr().out
    assert code == EXIT_ANOMALIES, out
    assert "petal_width" in _kinds(out), out
    assert "not compared: petal_width" in out and "drifted: none\n" not in out


def test_drift_reports_strings_in_a_numeric_column(capsys, schema_file, tmp_path):
    baseline = write_csv(str(tmp_path / "a.csv"), sampled_rows(300, seed=1))
    rows = [{**row, "petal_length": f"size {i}"} for i, row in enumerate(sampled_rows(300, seed=2))]
    current = write_csv(str(tmp_path / "b.csv"), rows)
    code, out = _drift(capsys, schema_file, baseline, current, tmp_path)
    assert code == EXIT_ANOMALIES, out
    assert "petal_length" in _kinds(out), out


def test_drift_reports_a_renamed_column_on_both_names(capsys, schema_file, tmp_path):
    baseline = write_csv(str(tmp_path / "a.csv"), sampled_rows(300, seed=1))
    rows = [{("petal_len" if k == "petal_length" else k): v for k, v in row.items()} for row in sampled_rows(300, seed=2)]
    current = write_csv(str(tmp_path / "b.csv"), rows, [("petal_len" if c == "petal_length" else c) for c in COLUMNS])
    code, out = _drift(capsys, schema_file, baseline, current, tmp_path)
    assert code == EXIT_ANOMALIES, out
    found = _kinds(out)
    assert "petal_length" in found and "petal_len" in found, out


def test_validate_reads_a_csv_with_a_utf8_byte_order_mark(capsys, schema_file, tmp_path):
    plain = write_csv(str(tmp_path / "plain.csv"), iris_rows())
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + open(plain, "rb").read())
    code, out, _ = _validate(capsys, schema_file, str(marked), tmp_path)
    assert code == EXIT_OK, out
    assert "no anomalies" in out
