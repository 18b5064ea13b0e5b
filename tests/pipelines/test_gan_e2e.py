"""GANs end to end: the faces pipelines (DCGAN and WGAN-GP) on an unlabelled folder of pictures the
test writes, through the CLI: trained, gated by the sample-quality Evaluator against a bound and
the last blessed generator, pushed, serving pictures, reported with their sample grid; and
mnist_dcgan on the real 5,000 MNIST digits (slow), blessed by its own gate, where the gate's
metric ranks held-out real digits above the trained generator's and those above an untrained one's.
"""
from __future__ import annotations

import json
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml
from tfx.types import artifact_utils, standard_artifacts

from components.generator_evaluator import read_pictures
from components.sample_quality import picture_distance
from modules.export import IMAGES_KEY, SEEDS_SIGNATURE, SERVING_SIGNATURE
from modules.registry import build_model
from modules.sample_grids import FINAL_GRID, SAMPLES_DIR, fixed_latents
from modules.samples import to_pixels
from pipelines import cli
from pipelines.spec.pipeline_spec import load_spec, spec_path
from tests.components.formats import write_face_folder


def coursepipe(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def short_spec(tmp_path: Path, spec_id: str, **training: object) -> Path:
    """The shipped spec with a few steps, small batches and a loose bound, as a file to run."""
    data = yaml.safe_load(Path(spec_path(spec_id)).read_text(encoding="utf-8"))
    data["training"].update({"steps": 4, "batch_size": 8, "sample_every": 2, **training})
    data["evaluation"].update({"upper_bound": 1000.0, "pictures": 12})
    path = tmp_path / f"{spec_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def example_gen_pictures(output: Path, split: str) -> np.ndarray:
    """Every digit of one split the run's ExampleGen wrote, as [n, 28, 28, 1] uint8."""
    examples = standard_artifacts.Examples()
    examples.uri = str(next((output / "pipeline" / "CourseExampleGen" / "examples").iterdir()))
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    return read_pictures(examples, split, "image", (28, 28, 1), limit=10_000)


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    write_face_folder(folder, 60)  # 54 train / 6 eval by the spec's shuffle split
    return folder


@pytest.mark.parametrize("spec_id", ["faces_dcgan", "faces_wgan_gp"])
def test_faces_pipeline_trains_gates_pushes_and_serves_pictures(spec_id, faces, tmp_path):
    spec = short_spec(tmp_path, spec_id)
    output = tmp_path / "run"

    code, out, err = coursepipe("run", "--spec", str(spec), "--data-dir", str(faces), "--output", str(output), "--json")

    assert code == 0, err
    summary = json.loads(out)
    assert summary["blessed"] is True and summary["pushed_destination"]
    assert 0.0 < summary["metrics"]["frechet_distance"] < 1000.0
    run_dir = Path(summary["model_run_dir"])
    assert sorted(p.name for p in (run_dir / SAMPLES_DIR).iterdir()) == ["step-0000002.png", "step-0000004.png"]
    assert (run_dir / FINAL_GRID).exists()
    history = json.loads((run_dir / "history.json").read_text())
    assert {"d_loss", "g_loss"} <= set(history) and ("gradient_penalty" in history) == (spec_id == "faces_wgan_gp")

    served = tf.saved_model.load(summary["pushed_destination"])
    z = fixed_latents(3, 100, seed=4)
    pictures = served.signatures[SERVING_SIGNATURE](z=tf.constant(z))[IMAGES_KEY].numpy()
    assert pictures.shape == (3, 64, 64, 3) and pictures.dtype == np.uint8
    by_seed = served.signatures[SEEDS_SIGNATURE](seeds=tf.constant([1, 2], tf.int64))[IMAGES_KEY].numpy()
    assert by_seed.shape == (2, 64, 64, 3)

    report = tmp_path / "report.html"
    code, _, err = coursepipe("report", "--spec", str(spec), "--output", str(output), "--to", str(report))
    assert code == 0, err
    page = report.read_text(encoding="utf-8")
    assert "Generated samples" in page and page.count("data:image/png;base64") == 2  # curves and samples
    assert "frechet_distance" in page


def test_a_retrained_generator_is_compared_with_the_last_blessed_one(faces, tmp_path):
    """Second run (--no-cache): the Evaluator scores the baseline on the same latents; with a change
    threshold no generator can meet, the candidate is not blessed and nothing more is pushed."""
    spec = short_spec(tmp_path, "faces_dcgan")
    output = tmp_path / "run"
    assert coursepipe("run", "--spec", str(spec), "--data-dir", str(faces), "--output", str(output))[0] == 0
    strict = yaml.safe_load(spec.read_text(encoding="utf-8"))
    strict["evaluation"]["change_threshold"] = -1000.0  # better than the baseline by 1000: impossible
    spec.write_text(yaml.safe_dump(strict, allow_unicode=True), encoding="utf-8")

    code, out, err = coursepipe("run", "--spec", str(spec), "--data-dir", str(faces), "--output", str(output),
                                "--no-cache", "--json")

    assert code == 0, err
    summary = json.loads(out)
    assert summary["blessed"] is False and not summary["pushed_destination"]
    assert "frechet_distance" in summary["metric_changes"]
    assert any("worse than the last blessed generator" in failure for failure in summary["validation_failures"])
    assert len(list((output / "serving").iterdir())) == 1


@pytest.mark.slow
def test_mnist_dcgan_on_real_digits_is_blessed_and_its_metric_ranks_real_trained_untrained(tmp_path):
    output = tmp_path / "run"
    code, out, err = coursepipe("run", "mnist_dcgan", "--output", str(output), "--json")
    assert code == 0, err
    summary = json.loads(out)
    spec = load_spec("mnist_dcgan")
    assert summary["blessed"] is True, summary["validation_failures"]
    assert summary["metrics"]["frechet_distance"] <= spec.evaluation.upper_bound

    # The gate's metric on the same eval digits: held-out real digits (the train split's) beat the
    # trained generator's, which beat an untrained generator's.
    train, evaluation = (example_gen_pictures(output, split) for split in ("train", "eval"))
    z = fixed_latents(len(evaluation), 100, seed=0)
    served = tf.saved_model.load(summary["pushed_destination"])
    trained = served.signatures[SERVING_SIGNATURE](z=tf.constant(z))[IMAGES_KEY].numpy()
    untrained = to_pixels(build_model("dcgan", spec.model.hparams).generator(z, training=False)).numpy()
    real = picture_distance(evaluation, train[:len(evaluation)])
    generated = picture_distance(evaluation, trained)
    assert generated == pytest.approx(summary["metrics"]["frechet_distance"], rel=1e-6)
    assert real < generated < picture_distance(evaluation, untrained)


def test_predict_refuses_a_generator_and_says_what_it_serves(tmp_path):
    code, _, err = coursepipe("predict", "mnist_dcgan", "--data", str(tmp_path), "--to", str(tmp_path / "p.csv"))
    assert code == 2
    assert "a generator scores no data" in err and "Traceback" not in err


@pytest.mark.slow
def test_compiled_generator_pipeline_runs_step_by_step_and_its_bound_is_a_run_parameter(faces, tmp_path):
    """faces_dcgan compiled for open-source KFP (local root, SQLite ML Metadata), each step in its
    own process as on a cluster: the sample-quality Evaluator blesses under the compiled bound, and
    a run with `eval_upper_bound` below the distance re-executes only Evaluator and Pusher, unblessed."""
    spec = short_spec(tmp_path, "faces_dcgan")
    compiled = tmp_path / "pipeline.yaml"
    code, _, err = coursepipe("compile", "--spec", str(spec), "--output", str(compiled), "--data-dir", str(faces),
                              "--pipeline-root", str(tmp_path / "root"), "--metadata",
                              f"sqlite:///{tmp_path / 'mlmd.sqlite'}", "--image", "local", "--gpu-image", "local")
    assert code == 0, err

    code, out, err = coursepipe("run-compiled", str(compiled), "--log-dir", str(tmp_path / "logs"))
    assert code == 0, err
    assert "blessed: yes" in out and "frechet_distance = " in out
    distance = float(out.split("frechet_distance = ")[1].split()[0])

    code, out, err = coursepipe("run-compiled", str(compiled), "--param", f"eval_upper_bound={distance / 2}",
                                "--log-dir", str(tmp_path / "logs2"))
    assert code == 0, err
    assert "2 executed (Evaluator, Pusher), 6 from cache" in out and "blessed: no" in out
