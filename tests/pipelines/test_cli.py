"""The command line: help everywhere, listing, clear one-line errors with exit code 2."""
from __future__ import annotations

import sys

import pytest

from pipelines import cli


def _run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", [[], ["list"], ["show"], ["run"], ["runs"], ["data"], ["compile"]])
def test_help_on_every_command(capsys, command):
    with pytest.raises(SystemExit) as caught:
        cli.main([*command, "--help"])
    assert caught.value.code == 0
    assert "usage: coursepipe" in capsys.readouterr().out


def test_list_shows_every_id(capsys):
    from pipelines.spec.pipeline_spec import spec_ids

    code, out, _ = _run(capsys, "list")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == spec_ids()
    course_ids = {"iris_softmax", "iris_tape", "dot_mlp", "dot_mlp_l2", "yogurt_linear", "yogurt_profit",
                  "digits_mlp", "boston_mlp", "mnist_mlp", "mnist_mlp_tape", "mnist_mlp5", "fashion_mlp5",
                  "mnist_dropout", "mnist_custom_dense", "mnist_augmented", "mnist_images", "mnist_autoencoder",
                  "mnist_vae"}
    assert course_ids <= set(listed)


def test_show_prints_the_resolved_spec(capsys):
    code, out, _ = _run(capsys, "show", "iris_softmax")
    assert code == 0
    assert "epochs: 500" in out and "--runner=FnApiRunner" in out


def test_unknown_id_is_a_usage_error(capsys):
    code, out, err = _run(capsys, "run", "iris_softmaxx")
    assert code == 2 and out == ""
    assert "pipeline 'iris_softmaxx' unknown; expected one of: boston_mlp, cifar100_resnet18" in err and "iris_softmax" in err
    assert "Traceback" not in err


def test_invalid_spec_file_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("id: x\ndescription: y\ndata: {source: iris}\n")
    code, _, err = _run(capsys, "run", "--spec", str(path))
    assert code == 2
    assert str(path) in err and "transform: required key is missing" in err


def test_missing_data_file_names_the_field(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "iris_softmax", "--data-dir", str(tmp_path / "none.csv"),
                        "--output", str(tmp_path / "out"))
    assert code == 2
    assert "--data-dir:" in err and "none.csv does not exist" in err and "'iris.csv'" in err
    assert not (tmp_path / "out").exists()


def test_data_without_the_files_says_where_and_how(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    code, out, err = _run(capsys, "data", "mnist", "--output", str(tmp_path / "out"))
    assert code == 2 and out == ""
    assert "mnist.npz" in err and str(tmp_path / "datasets") in err and "load_data()" in err
    assert not (tmp_path / "out").exists()


def test_data_unknown_source_and_bad_option(capsys, tmp_path):
    code, _, err = _run(capsys, "data", "mnits")
    assert code == 2 and "data source 'mnits' unknown; expected one of:" in err
    code, _, err = _run(capsys, "data", "letters", "--option", "windw=4")
    assert code == 2 and "--option windw: unknown option for source 'letters'" in err


@pytest.mark.parametrize("target, name, service", [
    ("kubeflow", "iris.yaml", "open-source Kubeflow Pipelines"), ("vertex", "iris.json", "Vertex AI Pipelines")])
def test_compile_writes_the_pipeline_for_its_target(capsys, tmp_path, target, name, service):
    output = tmp_path / name
    code, out, _ = _run(capsys, "compile", "iris_softmax", "--output", str(output), "--target", target,
                        "--pipeline-root", "gs://bucket/root", "--image", "img:1")
    assert code == 0 and output.exists() and f"{service} pipeline written to {output}" in out
    assert "run parameters: eval_lower_bound (default 0.9), train_epochs (default 500)" in out


def test_compile_for_vertex_takes_no_metadata_address(capsys, tmp_path):
    code, _, err = _run(capsys, "compile", "iris_softmax", "--output", str(tmp_path / "p.json"), "--target", "vertex",
                        "--pipeline-root", "gs://bucket/root", "--image", "img:1", "--metadata", "grpc://h:1")
    assert code == 2 and "--metadata: Vertex AI Pipelines keeps ML Metadata itself" in err


def test_compile_without_image_is_a_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "compile", "iris_softmax", "--output", str(tmp_path / "x.json"),
                        "--pipeline-root", "gs://bucket/root")
    assert code == 2 and "kubeflow.image" in err


def test_compile_all_writes_every_spec_and_reports_every_failure(capsys, tmp_path):
    """Without --gpu-image the GPU specs fail (each named), the others are still written, each
    reading its own folder under --data-dir."""
    from pipelines.spec.pipeline_spec import load_spec, spec_ids

    code = cli.main(["compile", "--all", "--output-dir", str(tmp_path), "--pipeline-root", "gs://b/root",
                     "--image", "registry.example/cp:1", "--data-dir", "gs://b/data"])
    err = capsys.readouterr().err
    gpu_specs = {s for s in spec_ids() if load_spec(s, heavy_rules=False).kubeflow.trainer.gpus}
    assert {"cifar10_lenet5", "mnist_dcgan", "faces_wgan_gp"} <= gpu_specs
    assert code == 2
    assert {s for s in gpu_specs if f"error: {s}:" in err} == gpu_specs
    assert "kubeflow.gpu_image" in err
    written = {path.stem for path in tmp_path.glob("*.yaml")}
    assert written == set(spec_ids()) - gpu_specs
    assert "gs://b/data/mnist_mlp" in (tmp_path / "mnist_mlp.yaml").read_text()
    taxi = (tmp_path / "taxi_tips.yaml").read_text()  # its spec names the tfx package's copy: kept
    assert "package://tfx/examples/chicago_taxi_pipeline/data/simple" in taxi and "gs://b/data/taxi_tips" not in taxi


def test_compile_all_refuses_a_single_id(capsys, tmp_path):
    assert cli.main(["compile", "iris_softmax", "--all", "--output-dir", str(tmp_path)]) == 2
    assert "compile --all: give --output-dir DIR, and no ID" in capsys.readouterr().err


def test_beam_executors_do_not_see_coursepipes_arguments(monkeypatch):
    """TFX's Beam executors parse sys.argv as absl flags: `-v run` read as --verbosity=run failed."""
    from absl import flags

    from pipelines.command_line import command_line_hidden

    monkeypatch.setattr(sys, "argv", ["coursepipe", "-v", "run", "iris_softmax"])
    with pytest.raises(flags.IllegalFlagValueError):
        flags.FLAGS(sys.argv, known_only=True)
    with command_line_hidden():
        flags.FLAGS(sys.argv, known_only=True)
    assert sys.argv == ["coursepipe", "-v", "run", "iris_softmax"]


@pytest.mark.parametrize(("metric", "bound", "value", "expected"), [
    ("sparse_categorical_accuracy", "lower_bound", 1.5, "takes values in [0, 1]"),
    ("mean_squared_error", "upper_bound", -0.1, "takes values >= 0"),
])
def test_a_gate_the_metric_can_never_meet_is_a_spec_error(capsys, tmp_path, metric, bound, value, expected):
    import yaml

    from pipelines.spec.pipeline_spec import spec_path

    data = yaml.safe_load(open(spec_path("iris_softmax"), encoding="utf-8"))
    data["evaluation"] = {"metric": metric, bound: value}
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = _run(capsys, "show", "--spec", str(path))
    assert code == 2 and out == ""
    assert f"evaluation.{bound}: {metric} {expected}" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [
    ["run", "iris_softmax", "--output", "{file}"],
    ["run", "iris_softmax", "--output", "{file}/below"],
    ["data", "iris", "--output", "{file}"],
    ["compile", "iris_softmax", "--output", "{dir}", "--pipeline-root", "gs://b/r", "--image", "i:1"],
    ["validate", "iris_softmax", "--data", "{data}", "--report", "{dir}"],
    ["validate", "iris_softmax", "--data", "{data}", "--report", "{file}/report.html"],
    ["drift", "iris_softmax", "--baseline", "{data}", "--current", "{data}", "--report", "{dir}"],
], ids=["run-output-file", "run-output-under-file", "data-output-file", "compile-output-dir",
        "validate-report-dir", "validate-report-under-file", "drift-report-dir"])
def test_an_unwritable_output_path_is_a_usage_error(capsys, tmp_path, command):
    """Exit 2 and one line naming the option and the path; for validate, never 1 ("anomalies")."""
    regular = tmp_path / "taken.txt"
    regular.write_text("not a directory\n")
    data = tmp_path / "iris.csv"
    data.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,0\n")
    argv = [arg.format(file=regular, dir=tmp_path, data=data) for arg in command]
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    option = command[command.index(next(a for a in command if "{file}" in a or "{dir}" in a)) - 1]
    assert option in err and str(tmp_path) in err and "Traceback" not in err
    assert regular.read_text() == "not a directory\n"


def test_a_bad_data_file_is_one_clear_line_in_a_real_process(tmp_path):
    """Through the installed command: exit 2, the file and line named, no traceback, and none of the
    orchestrator's "Execution N failed." before it."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.components.validation_data import iris_rows, write_iris_source_file

    rows = iris_rows()
    rows[3] = {**rows[3], "petal_length": "n/a"}
    data = write_iris_source_file(str(tmp_path / "my data" / "iris.csv"), rows)
    done = subprocess.run([str(Path(sys.executable).parent / "coursepipe"), "run", "iris_softmax", "--data-dir", data,
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{data}:5: field 'petal_length' expected a number" in done.stderr
    assert "Execution" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", [
    ["run", "iris_softmaxx"],
    ["run", "--spec", "{bad_spec}"],
    ["run", "iris_softmax", "--data-dir", "{missing}"],
    ["run", "iris_softmax", "--output", "{bad_spec}"],
    ["validate", "iris_softmax", "--data", "{missing}"],
    ["drift", "iris_softmax", "--baseline", "{missing}", "--current", "{missing}"],
    ["data", "mnist", "--data-dir", "{missing}"],
    ["runs", "iris_softmax", "--output", "{missing}"],
    ["report", "iris_softmax", "--output", "{missing}"],
    ["compile", "iris_softmax", "--output", "{missing}.json"],
], ids=["unknown-id", "invalid-spec", "missing-data", "output-is-a-file", "validate-missing", "drift-missing",
        "data-missing", "runs-none", "report-none", "compile-no-image"])
def test_simple_mistakes_are_reported_before_tensorflow_is_imported(tmp_path, argv):
    """What makes them fast (benchmarks/command_latency.py measures how fast): exit 2, and neither
    TensorFlow, TFX nor Beam was imported to say so."""
    import subprocess
    import sys

    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("id: x\ndescription: y\ndata: {source: irs}\n")
    args = [arg.format(bad_spec=bad_spec, missing=tmp_path / "none.csv") for arg in argv]
    script = ("import sys\nfrom pipelines import cli\ncode = cli.main(sys.argv[1:])\n"
              "heavy = sorted(m for m in ('tensorflow', 'tfx', 'apache_beam') if m in sys.modules)\n"
              "print(code, ' '.join(heavy) or 'none')\n")
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["2", "none"], done.stderr[-2000:]
