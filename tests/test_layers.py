"""The import rules of the README's layout table, checked on the source: `pipelines -> components ->
modules`, never upward, and nothing in `modules` drives TFX's orchestration."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package -> the top-level imports it must not make
FORBIDDEN = {
    "components": ("pipelines", "tests", "benchmarks"),
    "modules": ("pipelines", "components", "tests", "benchmarks", "tfx.orchestration", "tfx.dsl"),
    "pipelines": ("tests", "benchmarks"),
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
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
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
    (package / "bad.py").write_text("def f():\n    from pipelines.spec import load_spec\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert _violations("modules") == ["modules/bad.py:2 imports pipelines.spec"]
