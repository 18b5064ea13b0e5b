"""`coursepipe init` on hostile files: what the data holds never becomes spec text."""
from __future__ import annotations

import csv
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
