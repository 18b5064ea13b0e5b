"""The csv and tfrecord sources on files the tests write: what round-trips, and every bad input
answered through the CLI with exit 2 and a message naming the file, the line or record, the column."""
from __future__ import annotations

import gzip
import os
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import pytest
import tensorflow as tf
import yaml

from components.sources import get_source
from components.sources.base import DataFileError
from components.sources.profiles import profile_csv, profile_tfrecords
from components.splits import ALL_RECORDS, EVAL_SPLIT, TRAIN_SPLIT
from pipelines import cli

CSV = get_source("csv")
TFRECORD = get_source("tfrecord")
COLUMNS = [
    {"name": "width", "kind": "float"},
    {"name": "count", "kind": "int", "missing": {"fill": 0}},
    {"name": "colour", "kind": "string", "missing": "keep"},
    {"name": "pixels", "kind": "float", "shape": [2, 2]},
    {"name": "species", "kind": "string"},
]
OPTIONS = {"columns": COLUMNS, "label": "species", "classes": ["cat", "dog"]}
HEADER = "width,count,colour,pixels,species\n"


def _write(path, text: str, encoding: str = "utf-8") -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as handle:
        handle.write(text)
    return str(path)


def _read_csv(files, **options):
    return CSV.read(files, CSV.parse_options({**OPTIONS, **options}))


def test_csv_types_shapes_string_labels_quoting_and_bom(tmp_path):
    path = _write(tmp_path / "pets.csv", HEADER
                  + '1.5,3,"brown, with\nspots",0 1 2 3,dog\n'
                  + "2,,,4 5 6 7,cat\n", encoding="utf-8-sig")
    records = _read_csv([path])[ALL_RECORDS]
    assert records[0] == {"width": 1.5, "count": 3, "colour": "brown, with\nspots",
                          "pixels": [0.0, 1.0, 2.0, 3.0], "species": 1}
    # count filled with 0; colour kept missing (left out of the example); the label a class id.
    assert records[1] == {"width": 2.0, "count": 0, "pixels": [4.0, 5.0, 6.0, 7.0], "species": 0}
    features = CSV.feature_set(OPTIONS)
    assert features.features == ("width", "count", "colour", "pixels")
    assert features.class_names == ("cat", "dog") and features.num_classes == 2
    assert features.feature("pixels").shape == (2, 2) and features.feature("colour").kind == "text"
    assert features.optional == frozenset({"colour"})


def test_csv_delimiter_option_and_drop_row(tmp_path):
    path = _write(tmp_path / "pets.tsv.csv", "width\tspecies\n1\tdog\n\tcat\n3\tcat\n")
    options = {"columns": [{"name": "width", "missing": "drop_row"}, {"name": "species", "kind": "string"}],
               "label": "species", "classes": ["cat", "dog"], "delimiter": "\t"}
    records = CSV.read([path], CSV.parse_options(options))[ALL_RECORDS]
    assert records == [{"width": 1.0, "species": 1}, {"width": 3.0, "species": 0}]


def test_csv_splits_given_by_file_names_or_a_split_column(tmp_path):
    train = _write(tmp_path / "given" / "train.csv", "x,y\n1,0\n2,1\n")
    evaluation = _write(tmp_path / "given" / "eval.csv", "x,y\n3,1\n")
    options = {"columns": [{"name": "x"}, {"name": "y", "kind": "int"}], "label": "y", "num_classes": 2}
    splits = CSV.read([evaluation, train], CSV.parse_options(options))
    assert [r["x"] for r in splits[TRAIN_SPLIT]] == [1.0, 2.0] and [r["x"] for r in splits[EVAL_SPLIT]] == [3.0]
    marked = _write(tmp_path / "marked.csv", "x,y,part\n1,0,train\n2,1,test\n3,1,train\n")
    options = {**options, "columns": [*options["columns"], {"name": "part", "kind": "string"}], "split_column": "part"}
    splits = CSV.read([marked], CSV.parse_options(options))
    assert [r["x"] for r in splits[TRAIN_SPLIT]] == [1.0, 3.0] and [r["x"] for r in splits[EVAL_SPLIT]] == [2.0]
    assert "part" not in splits[TRAIN_SPLIT][0]
    assert "part" not in CSV.feature_set(options).features


def test_derived_label_is_computed_and_its_label_only_columns_are_not_features(tmp_path):
    path = _write(tmp_path / "trips.csv", "fare,tips\n10,3\n10,1\n0,0\n")
    options = {"columns": [{"name": "fare"}, {"name": "tips", "feature": False}],
               "label": {"name": "big_tipper", "kind": "greater_than", "left": "tips",
                         "right": {"column": "fare", "times": 0.2}}}
    records = CSV.read([path], CSV.parse_options(options))[ALL_RECORDS]
    assert records == [{"fare": 10.0, "big_tipper": 1}, {"fare": 10.0, "big_tipper": 0},
                       {"fare": 0.0, "big_tipper": 0}]
    features = CSV.feature_set(options)
    assert features.features == ("fare",) and features.label == "big_tipper" and features.num_classes == 2


@pytest.mark.parametrize(("options", "expected"), [
    ({"label": "nope"}, "'nope' is not declared in columns"),
    ({"classes": []}, "expected its class names"),
    ({"label": {"name": "big", "kind": "greater_than", "left": "colour", "right": 1}}, "expected a numeric scalar"),
    ({"columns": [*COLUMNS, {"name": "width"}]}, "width declared twice"),
])
def test_inconsistent_options_are_refused(options, expected):
    with pytest.raises(ValueError, match=expected):
        CSV.parse_options({**OPTIONS, **options})


def _cli(*argv: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue() + err.getvalue()


def _data_command(tmp_path, source: str, path: str, options: dict) -> tuple[int, str]:
    args = ["data", source, "--data-dir", path, "--output", str(tmp_path / "imported")]
    for key, value in options.items():
        args += ["--option", f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"]
    return _cli(*args)


BAD_CSV = [
    ("missing_column.csv", "width,count,colour,species\n1,2,x,dog\n", ":1: column 'pixels'"),
    ("not_a_number.csv", HEADER + "1,2,x,0 0 0 0,dog\nwide,2,x,0 0 0 0,dog\n",
     ":3: column 'width' expected a finite number (leave the cell empty for a missing value), got 'wide'"),
    ("empty_cell.csv", HEADER + ",2,x,0 0 0 0,dog\n", ":2: column 'width' is empty"),
    ("wrong_delimiter.csv", HEADER.replace(",", ";") + "1;2;x;0 0 0 0;dog\n", "expected data.options.delimiter: ';'"),
    ("empty.csv", "", "the file is empty"),
    ("header_only.csv", HEADER, "only a header row"),
    ("unknown_class.csv", HEADER + "1,2,x,0 0 0 0,cow\n", ":2: column 'species': 'cow' is not one of the classes"),
    ("short_list.csv", HEADER + "1,2,x,0 0 0,dog\n", ":2: column 'pixels' expected 4 values"),
    ("not_a_number_inf.csv", HEADER + "inf,2,x,0 0 0 0,dog\n",
     ":2: column 'width' expected a finite number (leave the cell empty for a missing value), got 'inf'"),
    ("overflowing_number.csv", HEADER + "1e400,2,x,0 0 0 0,dog\n", ":2: column 'width' expected a finite number"),
    ("infinite_list_value.csv", HEADER + "1,2,x,0 inf 0 0,dog\n", ":2: column 'pixels' expected a finite number"),
    ("nul_byte.csv", HEADER + "1,2,x,0 0 0 0,dog\n1,2\x00,x,0 0 0 0,dog\n",
     ":3: a NUL byte; expected text, not a binary file"),
    ("na_marker_is_a_missing_value.csv", HEADER + "NA,2,x,0 0 0 0,dog\n", ":2: column 'width' is empty"),
    ("duplicate_header.csv", HEADER.replace("species", "species,width") + "1,2,x,0 0 0 0,dog,3\n",
     ":1: column 'width' appears twice in the header (columns 1 and 6)"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_CSV, ids=[case[0] for case in BAD_CSV])
def test_bad_csv_exits_2_naming_file_line_and_column(tmp_path, name, text, expected):
    path = _write(tmp_path / name, text)
    code, output = _data_command(tmp_path, "csv", path, OPTIONS)
    assert code == 2, output
    assert path in output and expected in output, output
    assert "Traceback" not in output
    assert not os.path.exists(tmp_path / "imported" / "CourseExampleGen")  # nothing published


def test_missing_value_markers_are_declared_per_file_and_per_column(tmp_path):
    """`NA` is missing by default; a file may name its own markers, and a column whose `NA` is a
    value says `missing_values: []`."""
    path = _write(tmp_path / "pets.csv", HEADER + "n/a,2,NA,0 0 0 0,dog\n2,-,NA,0 0 0 0,cat\n")
    width = {"name": "width", "kind": "float", "missing": {"fill": -1.0}}
    with pytest.raises(DataFileError, match=r"pets.csv:3: column 'count' expected an integer, got '-'"):
        _read_csv([path], columns=[width, *COLUMNS[1:]])  # "-" is no marker by default
    records = _read_csv([path], columns=[width, *COLUMNS[1:]], missing_values=["-", "n/a", "NA"])[ALL_RECORDS]
    assert [record["width"] for record in records] == [-1.0, 2.0]  # n/a: missing, filled
    assert all("colour" not in record for record in records)  # NA: missing, kept out of the example
    colour = {**COLUMNS[2], "missing_values": []}  # NA is a colour here
    records = _read_csv([path], columns=[width, COLUMNS[1], colour, *COLUMNS[3:]], missing_values=["-", "n/a"])[
        ALL_RECORDS]
    assert [record["colour"] for record in records] == ["NA", "NA"]
    assert [record["count"] for record in records] == [2, 0]  # "-": this file's marker, filled with 0


def test_a_link_out_of_the_data_directory_is_refused_and_its_target_never_shown(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text(HEADER + "1,2,x,0 0 0 0,dog\nSECRET-LINE\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.csv").symlink_to(outside)
    code, output = _data_command(tmp_path, "csv", str(data), OPTIONS)
    assert code == 2, output
    assert f"{data / 'data.csv'}: a link to {outside}, outside the data directory" in output
    assert "SECRET-LINE" not in output and "Traceback" not in output
    inside = data / "real.csv"
    inside.write_text(HEADER + "1,2,x,0 0 0 0,dog\n3,4,y,0 0 0 0,cat\n")
    (data / "data.csv").unlink()
    (data / "data.csv").symlink_to(inside)  # a link within the folder is the user's data
    assert _data_command(tmp_path, "csv", str(data), OPTIONS)[0] == 0


def _example(**features) -> tf.train.Example:
    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if isinstance(values[0], float):
            feature.float_list.value.extend(values)
        elif isinstance(values[0], int):
            feature.int64_list.value.extend(values)
        else:
            feature.bytes_list.value.extend(v.encode() for v in values)
    return example


def _write_tfrecords(path, examples, gzipped: bool) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzipped else "")
    with tf.io.TFRecordWriter(str(path), options=options) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return str(path)


TF_OPTIONS = {"columns": [{"name": "x", "shape": [3]}, {"name": "tag", "kind": "string", "missing": "keep"},
                          {"name": "y", "kind": "int"}], "label": "y", "num_classes": 3}


@pytest.mark.parametrize("gzipped", [True, False])
def test_tfrecords_flat_round_trip(tmp_path, gzipped):
    path = _write_tfrecords(tmp_path / "data.tfrecord.gz", [
        _example(x=[1.0, 2.0, 3.0], tag=["a"], y=[2]), _example(x=[4.0, 5.0, 6.0], y=[0])], gzipped)
    records = TFRECORD.read([path], TFRECORD.parse_options(TF_OPTIONS))[ALL_RECORDS]
    assert records == [{"x": [1.0, 2.0, 3.0], "tag": "a", "y": 2}, {"x": [4.0, 5.0, 6.0], "y": 0}]


def test_tfrecords_keep_tfx_split_folders_and_columns_come_from_a_schema(tmp_path):
    train = _write_tfrecords(tmp_path / "Split-train" / "data_tfrecord-00000-of-00001.gz",
                             [_example(x=[1.0, 2.0, 3.0], tag=["a"], y=[1])], True)
    evaluation = _write_tfrecords(tmp_path / "Split-eval" / "data_tfrecord-00000-of-00001.gz",
                                  [_example(x=[0.0, 0.0, 1.0], tag=["b"], y=[2])], True)
    location = get_source("tfrecord")
    from components.sources import locate
    found = locate(location, str(tmp_path)).newest_files()
    assert found == sorted([evaluation, train])
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "x" type: FLOAT shape { dim { size: 3 } } }\n'
                      'feature { name: "tag" type: BYTES presence { min_fraction: 0.5 } }\n'
                      'feature { name: "y" type: INT shape { dim { size: 1 } } }\n')
    options = TFRECORD.parse_options({"schema": str(schema), "label": "y", "num_classes": 3})
    assert [c.model_dump(exclude_defaults=True) for c in options.columns] == [
        {"name": "x", "shape": [3]}, {"name": "tag", "kind": "string", "missing": "keep"},
        {"name": "y", "kind": "int"}]
    splits = TFRECORD.read(found, options)
    assert splits[TRAIN_SPLIT] == [{"x": [1.0, 2.0, 3.0], "tag": "a", "y": 1}]
    assert splits[EVAL_SPLIT] == [{"x": [0.0, 0.0, 1.0], "tag": "b", "y": 2}]


def test_tfrecord_feature_of_another_type_exits_2_naming_record_and_feature(tmp_path):
    path = _write_tfrecords(tmp_path / "data" / "part.tfrecord", [
        _example(x=[1.0, 2.0, 3.0], y=[1]), _example(x=[1, 2, 3], y=[1])], False)
    code, output = _data_command(tmp_path, "tfrecord", path, TF_OPTIONS)
    assert code == 2, output
    assert f"{path}: record 1: feature 'x' is stored as int (int64_list); the columns declare float" in output


def test_a_non_finite_tfrecord_value_exits_2_naming_record_and_feature(tmp_path):
    path = _write_tfrecords(tmp_path / "data" / "nan.tfrecord",
                            [_example(x=[0.1, 0.2, 0.3], y=[1]), _example(x=[0.1, float("nan"), 0.3], y=[2])], False)
    code, output = _data_command(tmp_path, "tfrecord", str(tmp_path / "data"), TF_OPTIONS)
    assert code == 2, output
    assert f"{path}: record 1: feature 'x' holds [0.1" in output and ", nan, " in output
    assert "expected finite numbers" in output


def test_not_a_tfrecord_file_is_a_data_error(tmp_path):
    path = tmp_path / "junk.tfrecord"
    path.write_bytes(gzip.compress(b"not records at all"))
    with pytest.raises(DataFileError, match=r"junk.tfrecord: record 0: not a TFRecord file \(corrupted record at 0"):
        TFRECORD.read([str(path)], TFRECORD.parse_options(TF_OPTIONS))


def test_records_of_another_protocol_buffer_are_not_taken_for_empty_examples(tmp_path):
    """A TensorProto parses as a tf.Example with unknown fields and no features."""
    tensor = tf.make_tensor_proto([1.0, 2.0]).SerializeToString()
    path = tmp_path / "data" / "tensors.tfrecord"
    path.parent.mkdir()
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(tensor)
    code, output = _cli("init", "x", "--data", str(path.parent), "--label", "y", "--to", str(tmp_path / "x.yaml"))
    assert code == 2 and f"{path}: record 0: not a serialized tf.Example ({len(tensor)} bytes that hold no " \
                          "tf.Example features" in output, output


def test_data_command_without_columns_prints_declarations_to_paste(tmp_path):
    path = _write(tmp_path / "pets.csv", HEADER + '1.5,3,"a, b",0 1 2 3,dog\n2,,,4 5 6 7,cat\n')
    code, output = _cli("data", "csv", "--data-dir", path)
    assert code == 0, output
    declared = yaml.safe_load(output.replace("LABEL", "species"))["data"]
    assert declared["source"] == "csv" and declared["path"] == path
    assert declared["options"]["columns"][:3] == [{"name": "width", "kind": "float"},
                                                  {"name": "count", "kind": "int", "missing": "keep"},
                                                  {"name": "colour", "kind": "string", "missing": "keep"}]
    # A list column's cells are text to the profiler; the user declares the shape.
    assert [p.column.kind for p in profile_csv([path])] == ["float", "int", "string", "string", "string"]


def test_tfrecord_profiles_read_kinds_shapes_and_gaps(tmp_path):
    path = _write_tfrecords(tmp_path / "p.tfrecord", [
        _example(x=[1.0, 2.0, 3.0], tag=["a"], y=[2]), _example(x=[4.0, 5.0, 6.0], y=[0])], False)
    profiles = {p.name: p for p in profile_tfrecords([path])}
    assert profiles["x"].column.shape == [3] and profiles["x"].column.kind == "float"
    assert profiles["tag"].column.missing == "keep" and profiles["tag"].empty == 1
    assert profiles["y"].column.kind == "int" and profiles["y"].values == (0, 2)


def test_a_gzip_of_nul_bytes_or_of_one_endless_line_is_refused_at_its_first_line(tmp_path):
    """Read line by line with a bound: a few kilobytes on disk that unpack to 64 MB fail at once."""
    for name, chunk, expected in (("nul.csv.gz", b"\0" * (1 << 20), ":1: a NUL byte; expected text"),
                                  ("endless.csv.gz", b"a" * (1 << 20), ":1: a line of more than 1048576 characters")):
        path = tmp_path / name
        with gzip.open(path, "wb") as handle:
            for _ in range(64):
                handle.write(chunk)
        code, output = _cli("init", "x", "--data", str(path), "--label", "y", "--to", str(tmp_path / "x.yaml"))
        assert code == 2 and f"{path}{expected}" in output, output
