"""The command line: help everywhere, listing, clear one-line errors with exit code 2."""
from __future__ import annotations

import pytest

from pipelines import cli


def _run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["run"], ["compile"]])
def test_help_on_every_command(capsys, command):
    with pytest.raises(SystemExit) as caught:
        cli.main([*command, "--help"])
    assert caught.value.code == 0
    assert "usage: coursepipe" in capsys.readouterr().out


def test_list_shows_every_id(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    assert out.startswith("iris_softmax ")


def test_show_prints_the_resolved_spec(capsys):
    code, out, _ = _run(capsys, "show", "iris_softmax")
    assert code == 0
    assert "epochs: 500" in out and "--runner=FnApiRunner" in out


def test_unknown_id_is_a_usage_error(capsys):
    code, out, err = _run(capsys, "run", "iris_softmaxx")
    assert code == 2 and out == ""
    assert "pipeline 'iris_softmaxx' unknown; expected one of: iris_softmax" in err
    assert "Traceback" not in err


def test_invalid_spec_file_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("id: x\ndescription: y\ndata: {source: iris}\n")
    code, _, err = _run(capsys, "run", "--spec", str(path))
    assert code == 2
    assert str(path) in err and "transform: required key is missing" in err


def test_missing_data_file_names_the_field(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "iris_softmax", "--data-path", str(tmp_path / "none.csv"),
                        "--output", str(tmp_path / "out"))
    assert code == 2
    assert "--data-path: data file" in err and "none.csv" in err
    assert not (tmp_path / "out").exists()


def test_compile_writes_json(capsys, tmp_path):
    output = tmp_path / "iris.json"
    code, out, _ = _run(capsys, "compile", "iris_softmax", "--output", str(output),
                        "--pipeline-root", "gs://bucket/root", "--image", "img:1")
    assert code == 0 and output.exists() and str(output) in out


def test_compile_without_image_is_a_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "compile", "iris_softmax", "--output", str(tmp_path / "x.json"),
                        "--pipeline-root", "gs://bucket/root")
    assert code == 2 and "kubeflow.image" in err
