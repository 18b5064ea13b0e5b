"""Date columns: parsed where the data is read, stored in one form, taken apart in the Transform."""
from __future__ import annotations

import datetime
import random

import pytest
import tensorflow as tf

from components.sources import get_source
from components.sources.base import DataFileError
from components.sources.dates import DateForm, date_form_of, parse_date
from components.splits import ALL_RECORDS
from modules.transforms import date_parts

CSV = get_source("csv")
TFRECORD = get_source("tfrecord")


@pytest.mark.parametrize(("text", "date_format", "stored"), [
    ("2024-03-01", None, "2024-03-01T00:00:00"),
    ("2024/3/1", None, "2024-03-01T00:00:00"),
    (" 2024-03-01 13:45 ", None, "2024-03-01T13:45:00"),
    ("2024-03-01T13:45:07.25+01:00", None, "2024-03-01T13:45:07"),  # the offset is dropped: wall-clock time
    ("2024-03-01T23:59:59Z", None, "2024-03-01T23:59:59"),
    ("0999-12-31", None, "0999-12-31T00:00:00"),  # zero-padded, so the Transform reads it by its digits
    ("19-Sep-03", "%d-%b-%y", "2003-09-19T00:00:00"),
    ("03/01/2024", "%m/%d/%Y", "2024-03-01T00:00:00"),
])
def test_dates_are_stored_in_one_form(text, date_format, stored):
    assert parse_date(text, date_format) == stored


@pytest.mark.parametrize(("text", "date_format"), [
    ("2024-02-30", None), ("2024-13-01", None), ("2024-03-01 25:00", None), ("03/01/2024", None),
    ("20240301", None), ("yesterday", None), ("2024-03-01", "%d-%b-%y"),
])
def test_what_is_not_a_date_is_refused(text, date_format):
    with pytest.raises(ValueError):
        parse_date(text, date_format)


def test_how_a_column_of_dates_is_written_is_recognized():
    assert date_form_of(["2024-03-01", "2024-03-02 10:00", ""]) == DateForm(None)  # ISO 8601
    assert date_form_of(["19-Sep-03", "18-Sep-03"]) == DateForm("%d-%b-%y")
    assert date_form_of(["12/31/2024", "01/02/2024"]) == DateForm("%m/%d/%Y")
    assert date_form_of(["31/12/2024", "01/02/2024"]) == DateForm("%d/%m/%Y")  # a day past 12: day first
    for not_dates in (["2024", "2025"], ["2024-03-01", "soon"], [], ["red", "blue"]):
        assert date_form_of(not_dates) is None, not_dates


def test_the_transform_takes_dates_apart_as_python_does():
    rng = random.Random(7)
    whens = [datetime.datetime(1800, 1, 1) + datetime.timedelta(minutes=rng.randrange(0, 400 * 365 * 24 * 60))
             for _ in range(500)]
    whens += [datetime.datetime(2000, 2, 29), datetime.datetime(1900, 3, 1), datetime.datetime(1970, 1, 1)]
    parts = date_parts(tf.constant([when.isoformat(timespec="seconds") for when in whens]))
    for i, when in enumerate(whens):
        expected = {"year": when.year, "month": when.month, "day": when.day, "day_of_year": when.timetuple().tm_yday,
                    "weekday": when.weekday(), "hour": when.hour + when.minute / 60}
        got = {name: float(values[i]) for name, values in parts.items()}
        assert got == pytest.approx(expected, abs=1e-4), when


def test_a_serving_client_may_write_the_date_its_own_iso_way():
    parts = date_parts(tf.constant(["2024-03-01 13:45", "2024-03-01T13:45:00", "2024-03-01"]))
    assert [float(v) for v in parts["hour"]] == pytest.approx([13.75, 13.75, 0.0])
    assert {float(v) for v in parts["weekday"]} == {4.0}  # a Friday


def _csv(tmp_path, body: str, **column) -> dict:
    path = tmp_path / "sales.csv"
    path.write_text("day,sold\n" + body, encoding="utf-8")
    options = {"columns": [{"name": "day", "kind": "date", **column}, {"name": "sold", "kind": "int"}],
               "label": "sold", "num_classes": 2}
    return CSV.read([str(path)], CSV.parse_options(options))


def test_a_csv_date_column_is_read_to_its_stored_form(tmp_path):
    records = _csv(tmp_path, "2024-03-01,1\n2024-03-02 08:30,0\n")[ALL_RECORDS]
    assert [record["day"] for record in records] == ["2024-03-01T00:00:00", "2024-03-02T08:30:00"]
    records = _csv(tmp_path, "01-Mar-24,1\n", date_format="%d-%b-%y")[ALL_RECORDS]
    assert records[0]["day"] == "2024-03-01T00:00:00"


def test_a_cell_that_is_not_a_date_names_its_line_and_column(tmp_path):
    with pytest.raises(DataFileError, match=r"sales.csv:3: column 'day' expected an ISO 8601 date .*got '2024-02-30'"):
        _csv(tmp_path, "2024-03-01,1\n2024-02-30,0\n")
    with pytest.raises(DataFileError, match=r"sales.csv:2: column 'day' expected a date written '%d-%b-%y', got '2024-03-01'"):
        _csv(tmp_path, "2024-03-01,1\n", date_format="%d-%b-%y")


def test_a_tfrecord_date_feature_is_checked_like_a_csv_cell(tmp_path):
    path = str(tmp_path / "sales.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for day in (b"2024-03-01", b"the first of March"):
            example = tf.train.Example()
            example.features.feature["day"].bytes_list.value.append(day)
            example.features.feature["sold"].int64_list.value.append(1)
            writer.write(example.SerializeToString())
    options = TFRECORD.parse_options({"columns": [{"name": "day", "kind": "date"}, {"name": "sold", "kind": "int"}],
                                      "label": "sold", "num_classes": 2})
    with pytest.raises(DataFileError, match=r"record 1: feature 'day' holds 'the first of March'; expected an ISO 8601"):
        TFRECORD.read([path], options)


def test_a_date_is_a_feature_not_a_label():
    with pytest.raises(ValueError, match="label: column 'day' holds dates"):
        CSV.parse_options({"columns": [{"name": "day", "kind": "date"}, {"name": "x"}], "label": "day"})


def test_comment_lines_are_skipped_and_lines_keep_their_numbers(tmp_path):
    path = tmp_path / "noted.csv"
    path.write_text("# Data source: somewhere\nday,sold\n2024-03-01,1\n# a note between rows\n2024-13-01,0\n",
                    encoding="utf-8")
    options = CSV.parse_options({"comment": "#", "columns": [{"name": "day", "kind": "date"},
                                                             {"name": "sold", "kind": "int"}],
                                 "label": "sold", "num_classes": 2})
    with pytest.raises(DataFileError, match=r"noted.csv:5: column 'day'"):
        CSV.read([str(path)], options)


def test_a_date_column_s_schema_holds_no_closed_set_of_days():
    """SchemaGen gives a bytes feature with few distinct values a domain; for a date column the
    gate and the data commands drop it, and other columns keep theirs."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from components.validation.schemas import with_open_dates

    schema = text_format.Parse("""
        feature { name: "day" type: BYTES domain: "day" }
        feature { name: "colour" type: BYTES domain: "colour" }
        string_domain { name: "day" value: "2023-01-02T00:00:00" }
        string_domain { name: "colour" value: "red" }""", schema_pb2.Schema())
    options = CSV.parse_options({"columns": [{"name": "day", "kind": "date"}, {"name": "colour", "kind": "string"},
                                             {"name": "y", "kind": "int"}], "label": "y", "num_classes": 2})
    opened = with_open_dates(schema, options)
    assert [f.HasField("domain") for f in opened.feature] == [False, True]
    assert [d.name for d in opened.string_domain] == ["colour"]
    assert schema.feature[0].HasField("domain")  # the artifact's own schema is not changed
