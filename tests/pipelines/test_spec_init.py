"""`coursepipe init` on hostile files: what the data holds never becomes spec text."""
from __future__ import annotations

import csv
import math
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import yaml

from pipelines import cli

INJECTED = "x\npush: {destination: /elsewhere}\nbeam: {args: ['--runner=DataflowRunner']}"


def _cli(*argv: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue() + err.getvalue()


def test_cells_and_column_names_with_line_breaks_do_not_change_the_written_spec(tmp_path):
    data = tmp_path / "hostile.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["size", "note\npush: {destination: /elsewhere}", "label"])
        for row in range(40):
            writer.writerow([row % 7, INJECTED if row % 2 else "plain", "a" if row % 3 else "b"])
    spec_file = tmp_path / "hostile.yaml"
    code, output = _cli("init", "hostile", "--data", str(data), "--label", "label", "--to", str(spec_file))
    assert code == 0, output
    text = spec_file.read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    assert set(spec) == {"id", "description", "data", "transform", "model", "training", "evaluation"}
    assert "push" not in spec and "beam" not in spec
    assert all(line.startswith("#") for line in text.splitlines()[:3])
    assert "x\\npush: {destination: /elsewhere}" in text  # the cell, escaped in its comment
    columns = [column["name"] for column in spec["data"]["options"]["columns"]]
    assert "note\npush: {destination: /elsewhere}" in columns  # the name, quoted by YAML, as it is


def test_commands_find_the_spec_init_wrote_by_its_id_or_say_to_give_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "mine.csv"
    data.write_text("size,label\n" + "".join(f"{i % 9},{'ab'[i % 2]}\n" for i in range(40)))
    assert _cli("init", "mine", "--data", str(data), "--label", "label")[0] == 0  # writes mine.yaml here
    code, output = _cli("show", "mine")
    assert code == 0 and "id: mine" in output, output
    (tmp_path / "mine.yaml").rename(tmp_path / "elsewhere.yaml")
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    code, output = _cli("runs", "mine")
    assert code == 2 and "runs/mine holds its runs: give --spec FILE" in output
    assert "expected one of" not in output  # not the list of the course's ids


def test_a_label_with_one_value_or_none_is_said_of_the_data(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("a,b,label\n" + "".join(f"{i},{2 * i},yes\n" for i in range(30)))
    empty = tmp_path / "empty.csv"
    empty.write_text("a,label\n" + "".join(f"{i},\n" for i in range(30)))
    for data, expected in ((one, "holds one value ('yes') in all 30 filled rows; expected at least two classes"),
                           (empty, "is empty in all 30 rows; expected the values to predict")):
        code, output = _cli("init", "x", "--data", str(data), "--label", "label", "--to", str(tmp_path / "x.yaml"))
        assert code == 2 and f"--label: column 'label' of {data} {expected}" in output, output
        assert "problem(s) in the pipeline spec" not in output and not (tmp_path / "x.yaml").exists()


def _write_penguins(path) -> dict[str, int]:
    """A file in the layout of the public Palmer penguins CSV as R's write.csv exports it (a rowid
    column, `NA` for a missing measurement or sex), three species of well-separated measurements;
    returns the NA counts."""
    import random

    rng = random.Random(3)
    centres = {"Adelie": (38.8, 18.3, 190.0, 3700), "Chinstrap": (48.8, 18.4, 196.0, 3730),
               "Gentoo": (47.5, 15.0, 217.0, 5080)}
    missing = {"numbers": 0, "sex": 0}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rowid", "species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                         "body_mass_g", "sex", "year"])
        for row in range(240):
            species = list(centres)[row % 3]
            bill, depth, flipper, mass = centres[species]
            values = [round(bill + rng.gauss(0, 1.2), 1), round(depth + rng.gauss(0, 0.5), 1),
                      int(flipper + rng.gauss(0, 3)), int(mass + rng.gauss(0, 150))]
            if row in (3, 100):  # as the public file: a penguin with no measurements at all
                values, missing["numbers"] = ["NA"] * 4, missing["numbers"] + 4
            sex = "NA" if row % 37 == 5 else ("male" if rng.random() < 0.5 else "female")
            missing["sex"] += sex == "NA"
            writer.writerow([row + 1, species, ["Torgersen", "Biscoe", "Dream"][row % 3], *values, sex, 2007 + row % 3])
    return missing


def test_na_cells_are_missing_values_and_numeric_columns_stay_numeric(tmp_path):
    data = tmp_path / "penguins.csv"
    missing = _write_penguins(data)
    spec_file = tmp_path / "penguins.yaml"
    code, output = _cli("init", "penguins", "--data", str(data), "--label", "species", "--to", str(spec_file))
    assert code == 0, output
    total = missing["numbers"] + missing["sex"]
    assert f"read as missing (data.options.missing_values): 'NA': {total} cells" in output
    text = spec_file.read_text(encoding="utf-8")
    assert f"# read as missing (data.options.missing_values): 'NA': {total} cells" in text
    spec = yaml.safe_load(text)
    columns = {column["name"]: column for column in spec["data"]["options"]["columns"]}
    for name in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        assert columns[name]["kind"] in ("float", "int") and columns[name]["missing"] == "keep", columns[name]
        assert spec["transform"]["features"][name]["kind"] == "zscore"
    assert "NA" not in str(spec["transform"]["features"].get("sex", {}))  # no vocabulary entry for the marker
    assert "rowid" not in spec["transform"]["features"]
    assert "left out of the model's inputs: rowid (an identifier: numbers rising or falling row by row)" in output
    steps = spec["training"]["epochs"] * math.ceil(240 * 0.8 / spec["training"]["batch_size"])
    assert 3000 <= steps < 3000 + math.ceil(240 * 0.8 / spec["training"]["batch_size"])  # about 3,000 steps
    code, output = _cli("data", "csv", "--data-dir", str(data))  # the declarations to paste
    assert code == 0 and f"# read as missing (data.options.missing_values): 'NA': {total} cells" in output, output


def test_the_penguins_spec_runs_on_its_numbers_and_blesses_a_good_model(tmp_path):
    from pipelines.runs.summary import latest_run_summary

    data = tmp_path / "penguins.csv"
    _write_penguins(data)
    spec_file = tmp_path / "penguins.yaml"
    assert _cli("init", "penguins", "--data", str(data), "--label", "species", "--to", str(spec_file))[0] == 0
    code, output = _cli("run", "--spec", str(spec_file), "--output", str(tmp_path / "run"))
    assert code == 0, output
    summary = latest_run_summary(str(tmp_path / "run" / "metadata.sqlite"))
    assert summary.blessed is True
    assert summary.metrics["sparse_categorical_accuracy"] >= 0.9  # the majority share is 1/3
    margin = summary.metrics["sparse_categorical_accuracy"] - spec_lower_bound(spec_file)
    assert f"lower bound {spec_lower_bound(spec_file)}, {margin:+.4f} above it" in output


def spec_lower_bound(spec_file) -> float:
    return yaml.safe_load(spec_file.read_text(encoding="utf-8"))["evaluation"]["lower_bound"]
