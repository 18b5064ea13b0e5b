"""The images cannot be built here (no Docker): check the Dockerfiles statically instead.

Every base image is pinned to a version tag; every `pip install` goes through constraints.txt; what
they copy exists; the GPU image adds the CUDA/cuDNN wheels of TensorFlow's own `and-cuda` extra,
whose versions TensorFlow pins (so the constraints pin them too).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.kubeflow.vertex_compiler import IMAGE_SCHEMAS_DIR

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]


def _instructions(name: str) -> list[tuple[str, str]]:
    text = (ROOT / name).read_text()
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_base_images_are_pinned(name):
    bases = [args for instruction, args in _instructions(name) if instruction == "FROM"]
    assert bases
    for base in bases:
        image = base.split()[0]
        assert re.match(r"^[\w./-]+(:\d[\w.-]*|@sha256:[0-9a-f]{64})$", image), f"{name}: {image} is not pinned"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_every_pip_install_uses_the_constraints(name):
    installs = [args for instruction, args in _instructions(name)
                if instruction == "RUN" and "pip install" in args]
    assert installs
    for command in installs:
        assert "-c constraints.txt" in command, f"{name}: {command}"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copied_paths_exist(name):
    for instruction, args in _instructions(name):
        if instruction == "COPY":
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), f"{name}: COPY {source}"


def test_gpu_image_adds_tensorflows_pinned_cuda_wheels():
    from importlib.metadata import requires, version

    (command,) = [args for instruction, args in _instructions("Dockerfile.gpu") if instruction == "RUN"]
    assert '"tensorflow[and-cuda]"' in command
    constraints = (ROOT / "constraints.txt").read_text()
    assert f"tensorflow=={version('tensorflow')}" in constraints
    cuda = [r for r in requires("tensorflow") if "and-cuda" in r and r.startswith("nvidia-cudnn")]
    assert cuda and "==8.9" in cuda[0].replace(" ", "")  # cuDNN 8.9, what TF 2.16 was built against


@pytest.mark.parametrize("name", DOCKERFILES)
def test_images_hold_the_shipped_schemas_where_compiled_pipelines_read_them(name):
    lines = _instructions(name)
    workdir = next(args for instruction, args in lines if instruction == "WORKDIR")
    copied = [args.split()[-1] for instruction, args in lines if instruction == "COPY"]
    assert "./pipelines" in copied
    assert IMAGE_SCHEMAS_DIR == f"{workdir}/pipelines/schemas"
