"""The import rules of the README's layout table, checked on the source: `pipelines -> components ->
modules`, never upward, and nothing in `modules` drives TFX's orchestration; inside `pipelines`, the
command line on top, the spec and the shared names at the bottom."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package, folder or module -> the imports it must not make
FORBIDDEN = {
    "components": ("pipelines", "tests", "benchmarks"),
    "modules": ("pipelines", "components", "tests", "benchmarks", "tfx.orchestration", "tfx.dsl"),
    "pipelines": ("tests", "benchmarks"),
    # The names every part agrees on depend on nothing of the project's pipelines (no circle
    # names -> spec -> rules -> names, not even for a type hint).
    "pipelines/names.py": ("pipelines",),
    # A spec is read before anything runs: it knows nothing of runs, data commands or the CLI.
    "pipelines/spec": ("pipelines.runs", "pipelines.data", "pipelines.cli", "pipelines.factory"),
    "pipelines/runs": ("pipelines.data", "pipelines.cli", "pipelines.kubeflow"),
    "pipelines/data": ("pipelines.cli", "pipelines.kubeflow"),
    "pipelines/kubeflow": ("pipelines.cli", "pipelines.data"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports (absolute names), at any depth of the file, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations(package: str) -> list[str]:
    where = ROOT / package
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in ([where] if where.suffix == ".py" else sorted(where.rglob("*.py")))
        for line, name in imported_modules(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[package])
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    assert _violations(package) == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule can fail: a module of `modules` importing `pipelines` is reported."""
    package = tmp_path / "modules"
    package.mkdir()
    (package / "bad.py").write_text("def f():\n    from pipelines.spec.pipeline_spec import load_spec\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert _violations("modules") == ["modules/bad.py:2 imports pipelines.spec.pipeline_spec"]


def test_the_names_module_fails_on_a_type_hint_import(tmp_path, monkeypatch):
    """`pipelines/names.py` importing the spec only for a type hint is still a violation."""
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "names.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipelines.spec.pipeline_spec import PipelineSpec\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert _violations("pipelines/names.py") == ["pipelines/names.py:3 imports pipelines.spec.pipeline_spec"]
