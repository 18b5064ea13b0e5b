"""`coursepipe init` on dates: recognized as dates (not identifiers or vocabularies), taken apart
into parts a model learns from, and read the same way by `predict`. Two of the files are public
ones this project did not write: matplotlib ships Yahoo Finance's stock prices (`msft.csv`, dates
like `19-Sep-03`; `Stocks.csv`, ISO dates under a `# Data source` line)."""
from __future__ import annotations

import csv
import datetime
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import matplotlib
import yaml

from pipelines import cli

SAMPLE_DATA = Path(matplotlib.get_data_path()) / "sample_data"


def _cli(*argv: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue() + err.getvalue()


def _init(tmp_path, data: Path, label: str) -> tuple[dict, str]:
    spec_file = tmp_path / "spec.yaml"
    code, output = _cli("init", "x", "--data", str(data), "--label", label, "--to", str(spec_file))
    assert code == 0, output
    return yaml.safe_load(spec_file.read_text(encoding="utf-8")), spec_file.read_text(encoding="utf-8") + output


def test_a_public_file_s_dates_become_date_features_and_its_volumes_stay(tmp_path):
    spec, said = _init(tmp_path, SAMPLE_DATA / "msft.csv", "Close")
    columns = {column["name"]: column for column in spec["data"]["options"]["columns"]}
    assert columns["Date"] == {"name": "Date", "kind": "date", "date_format": "%d-%b-%y"}
    assert spec["transform"]["features"]["Date"] == {"kind": "date"}
    assert "dates written '%d-%b-%y' from 2003-06-19T00:00:00 to 2003-09-19T00:00:00" in said
    # Trading volumes never repeat, but over a span of millions: a measurement, not a row id.
    assert columns["Volume"].get("feature", True) and "Volume" in spec["transform"]["features"]
    assert "identifier" not in said
    width = spec["model"]["hparams"]["input_shape"][0]
    assert width == 7 + 5  # year, (sin, cos) of month, day of year, weekday; five numbers


def test_a_note_above_the_header_is_read_as_a_comment(tmp_path):
    spec, _ = _init(tmp_path, SAMPLE_DATA / "Stocks.csv", "IBM")
    assert spec["data"]["options"]["comment"] == "#"
    assert spec["data"]["options"]["columns"][0] == {"name": "Date", "kind": "date"}
    code, output = _cli("data", "csv", "--data-dir", str(SAMPLE_DATA / "Stocks.csv"))
    assert code == 0 and "    comment: '#'\n" in output and "{name: Date, kind: date}" in output, output


def _write_shop(path: Path, first: datetime.date, days: int, every: int = 1, repeats: int = 1,
                with_label: bool = True) -> None:
    """A shop that is busy at weekends and in December: only the date tells. Every `every`-th day,
    each `repeats` times."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["day", "staff", *(["busy"] if with_label else [])])
        for offset in range(0, days, every):
            day = first + datetime.timedelta(days=offset)
            busy = day.weekday() >= 5 or day.month == 12
            for repeat in range(repeats):
                writer.writerow([day.strftime("%d/%m/%Y"), 3 + repeat % 2,
                                 *(["yes" if busy else "no"] if with_label else [])])


def test_a_label_only_the_date_explains_is_learned_and_predicted(tmp_path):
    """98 days over three years (every 11th: each weekday, each month), 10 rows each: few enough
    distinct dates that SchemaGen gives the column a value domain, which must not make the next
    week's dates anomalies (the gate and `predict` open it for date columns)."""
    data = tmp_path / "shop.csv"
    _write_shop(data, datetime.date(2021, 1, 1), 3 * 365, every=11, repeats=10)
    spec, _ = _init(tmp_path, data, "busy")
    assert spec["data"]["options"]["columns"][0] == {"name": "day", "kind": "date", "date_format": "%d/%m/%Y"}
    spec_file = tmp_path / "spec.yaml"
    code, output = _cli("run", "--spec", str(spec_file), "--output", str(tmp_path / "run"))
    assert code == 0 and "blessed: yes" in output, output
    accuracy = float(output.split("binary_accuracy = ")[1].split()[0])
    assert accuracy >= 0.95, output  # the majority share ("no") is about 0.67
    serving, scored = tmp_path / "next_week.csv", tmp_path / "scored.csv"
    _write_shop(serving, datetime.date(2024, 6, 3), 7, with_label=False)  # Monday 3 June .. Sunday 9 June
    code, output = _cli("predict", "--spec", str(spec_file), "--output", str(tmp_path / "run"), "--data", str(serving),
                        "--to", str(scored), "--keep", "day")
    assert code == 0, output
    with open(scored, encoding="utf-8") as handle:
        predicted = {row["day"]: row["predicted_class"] for row in csv.DictReader(handle)}
    assert predicted == {f"0{d}/06/2024": "yes" if d >= 8 else "no" for d in range(3, 10)}, predicted
