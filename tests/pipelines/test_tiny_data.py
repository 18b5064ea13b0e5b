"""Too few examples to trust a gate: a run of a user's table refuses them, before anything is
written, and says which minimum to lower; `init` warns up front."""
from __future__ import annotations

import re
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import pytest
import yaml

from components.example_gen import read_source_splits
from components.sources import get_source
from components.sources.base import DataFileError
from components.splits import ShuffleSplit
from pipelines import cli

CSV = get_source("csv")


def _cli(*argv: str) -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue() + err.getvalue()


def _table(tmp_path, labels: list[str]) -> str:
    path = tmp_path / "tiny.csv"
    path.write_text("size,label\n" + "".join(f"{i % 5 + 0.5},{label}\n" for i, label in enumerate(labels)),
                    encoding="utf-8")
    return str(path)


def _splits(path: str, **minimums) -> dict:
    options = {"columns": [{"name": "size"}, {"name": "label", "kind": "string"}], "label": "label",
               "classes": ["a", "b"], **({"min_examples": minimums} if minimums else {})}
    return read_source_splits(CSV, [path], CSV.parse_options(options), ShuffleSplit(eval_fraction=0.2, seed=1))


def test_three_rows_are_refused_by_init_s_spec_run_before_anything_is_written(tmp_path):
    data = _table(tmp_path, ["a", "b", "a"])
    spec_file = tmp_path / "tiny.yaml"
    code, output = _cli("init", "tiny", "--data", data, "--label", "label", "--to", str(spec_file))
    assert code == 0, output
    assert "warning: 3 labelled rows give about 0 eval examples; a run refuses a split under 10" in output
    assert "warning: class(es) a, b have too few rows for 3 training examples each: the model will barely " \
           "predict them" in output
    code, output = _cli("run", "--spec", str(spec_file), "--output", str(tmp_path / "run"))
    assert code == 2, output
    assert "data.options.min_examples.per_split: the train split holds 2 example(s) (2 train, 1 eval); " \
           "expected at least 10" in output, output
    assert "Traceback" not in output and "blessed: yes" not in output
    assert not (tmp_path / "run" / "serving").exists()


def test_a_rare_class_is_a_warning_or_refused_naming_it(tmp_path, caplog):
    """A class with two rows among thousands leaves the overall gate meaningful (the taxi data's
    `Pcard`): a warning by default; `rare_class: refuse` makes it an error."""
    path = _table(tmp_path, ["a"] * 58 + ["b"] * 2)
    expected = r"min_examples.per_class: class 'b' has [0-2] example\(s\) in the train split \(48 train, 12 eval\); " \
               r"expected at least 3"
    with caplog.at_level("WARNING", logger="components.example_gen"):
        _splits(path)
    assert any(re.search(expected, record.getMessage()) for record in caplog.records), caplog.text
    with pytest.raises(DataFileError, match=expected + r".*\(rare_class: refuse\)"):
        _splits(path, rare_class="refuse")


def test_the_minimums_are_the_user_s_to_lower(tmp_path):
    path = _table(tmp_path, ["a", "b", "a"])
    with pytest.raises(DataFileError, match="per_split"):
        _splits(path)
    splits = _splits(path, per_split=0, per_class=0)
    assert sum(len(rows) for rows in splits.values()) == 3


def test_data_imports_what_it_is_given(tmp_path):
    """`coursepipe data` imports a file to look at, not to train on: no minimum there."""
    data = _table(tmp_path, ["a", "b", "a"])
    code, output = _cli("data", "csv", "--data-dir", data, "--output", str(tmp_path / "imported"),
                        "--option", "columns=[{name: size}, {name: label, kind: string}]", "--option", "label=label",
                        "--option", "classes=[a, b]")
    assert code == 0, output


def test_course_sources_keep_their_small_test_data():
    """The minimums are a table source's option: course sources (tiny fixtures in tests) never see them."""
    spec = yaml.safe_load("{columns: [{name: x}, {name: y, kind: int}], label: y, num_classes: 2}")
    assert CSV.parse_options(spec).min_examples.per_split == 10
    assert not hasattr(get_source("iris").parse_options({}), "min_examples")


def test_the_run_summary_says_how_far_a_model_is_past_or_short_of_its_bound():
    from pipelines.cli.output import bound_margin

    assert bound_margin("lower", 0.661, 0.3133) == "lower bound 0.661, +0.3133 above it"
    assert bound_margin("upper", 0.828, 0.1) == "upper bound 0.828, +0.1000 below it"
    assert bound_margin("upper", 0.828, -0.3834) == "upper bound 0.828, 0.3834 short of it"  # was "-0.3834 below it"
    assert bound_margin("lower", 0.9, -0.04) == "lower bound 0.9, 0.0400 short of it"
