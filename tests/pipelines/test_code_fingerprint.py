"""What the code fingerprint covers: the entry module and the first-party modules it imports,
transitively (absolute, relative, `importlib.import_module` of a literal), read from disk."""
from __future__ import annotations

import subprocess
import sys

from pipelines.runs.code_fingerprint import code_files, code_fingerprint, entry_module


def _package(root, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_fingerprint_follows_imports_and_changes_with_any_of_them(tmp_path, monkeypatch):
    _package(tmp_path, {
        "userpkg/__init__.py": "",
        "userpkg/models.py": "from . import layers\nimport importlib\nimportlib.import_module('userpkg.extra')\n",
        "userpkg/layers.py": "from userpkg.deep import helper\n",
        "userpkg/deep.py": "def helper(): return 1\n",
        "userpkg/extra.py": "X = 1\n",
        "userpkg/unused.py": "Y = 2\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    files = code_files(["userpkg.models"])
    assert {"userpkg.models", "userpkg.layers", "userpkg.deep", "userpkg.extra"} <= set(files)
    assert "userpkg.unused" not in files
    before = code_fingerprint(["userpkg.models"])
    assert code_fingerprint(["userpkg.models"]) == before
    (tmp_path / "userpkg" / "unused.py").write_text("Y = 3\n")
    assert code_fingerprint(["userpkg.models"]) == before
    (tmp_path / "userpkg" / "deep.py").write_text("def helper(): return 2\n")
    assert code_fingerprint(["userpkg.models"]) != before


def test_the_trainer_code_covers_every_course_builder_without_importing_tensorflow():
    script = ("import sys\nfrom pipelines.runs.code_fingerprint import code_files\n"
              "files = code_files(['modules.trainer'])\n"
              "assert 'tensorflow' not in sys.modules, 'imported TensorFlow'\n"
              "print(' '.join(sorted(files)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    names = set(done.stdout.split())
    assert {"modules.trainer", "modules.fitting", "modules.registry", "modules.models.cifar",
            "modules.models.tabular", "modules.export"} <= names


def test_entry_modules_of_dotted_paths():
    assert entry_module("modules.trainer.run_fn") == "modules.trainer"
    assert entry_module("mypkg.models:tiny") == "mypkg.models"
