"""Fingerprints of the Python code a component runs, so that TFX's cache sees code changes.

TFX fingerprints a `module_file` and re-executes a component when the file changes. This project
names its code by dotted path (docs/design.md, "Dotted paths, not module_file"), which TFX does not
fingerprint: edited model code with an unchanged spec would be served from cache. The factory
therefore puts a fingerprint of the code behind Transform's `preprocessing_fn` and the Trainer's
`run_fn` (and a user's model module) into their `custom_config`, an execution property TFX's cache
key covers. A change re-executes exactly the components whose code changed, and what depends on
their outputs; an unchanged tree keeps every cache hit.

The code of a component is its entry module and every module it imports that is not part of an
installed distribution (the standard library, site-packages), transitively, plus the entry
module's own top-level package and `modules` wherever they are installed (in an image the project
itself is in site-packages). So a user's helper package beside their model package counts, and
TensorFlow does not. Imports are found by reading the source files' import statements, not by
importing them: fingerprinting must not import TensorFlow.

ExampleGen's config carries the fingerprint of a user's own data source module the same way, so
an edited source re-reads the data.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import logging
import os
import site
import sysconfig
from typing import Iterable

logger = logging.getLogger(__name__)

# The project's own package that runs inside Transform and Trainer.
PROJECT_CODE_PACKAGE = "modules"
# The `custom_config` key that carries the fingerprint (the modules themselves never read it).
CODE_FINGERPRINT_KEY = "code_fingerprint"


def module_file(name: str) -> str | None:
    """The source file of module `name` (a package's `__init__.py`), or None when there is none.

    Only the top-level package is looked up through the import system (which runs its
    `__init__.py`); submodules are found on disk below it, since looking up `modules.models.cifar`
    would import `modules.models` and with it TensorFlow.
    """
    top, _, rest = name.partition(".")
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if not rest:
        return found.origin if found.origin and found.origin.endswith(".py") else None
    for directory in found.submodule_search_locations or ():
        base = os.path.join(directory, *rest.split("."))
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
    return None


def _imported_names(path: str, module: str) -> set[str]:
    """Absolute names of the modules `path` imports, including `from package import submodule`
    (reported as both `package` and `package.submodule`; the caller keeps those that exist) and
    `importlib.import_module` of a literal name."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif _is_import_module_call(node):
            names.add(node.args[0].value)  # importlib.import_module("modules.models"): the registry
    return names


def _is_import_module_call(node: ast.AST) -> bool:
    """`importlib.import_module("literal")`, how the registry loads the course's builders."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "import_module"
        and len(node.args) >= 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


@functools.cache
def _installed_roots() -> tuple[str, ...]:
    """Folders whose modules belong to installed distributions: the standard library and every
    site-packages (a virtual environment's and the base interpreter's)."""
    paths = sysconfig.get_paths()
    roots = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= set(site.getsitepackages()) | {site.getusersitepackages()}
    return tuple(sorted({os.path.realpath(root) + os.sep for root in roots if root}))


def is_installed(path: str) -> bool:
    """Whether the source file `path` belongs to an installed distribution (not the user's code)."""
    return os.path.realpath(path).startswith(_installed_roots())


def code_files(entry_modules: Iterable[str]) -> dict[str, str]:
    """Module name -> source file, for the entry modules and the first-party modules they import,
    transitively. First-party: not part of an installed distribution, or in the entry module's own
    top-level package or `modules` (the project's, even when installed)."""
    entries = list(entry_modules)
    own_packages = {name.split(".")[0] for name in entries} | {PROJECT_CODE_PACKAGE}
    files: dict[str, str] = {}
    seen: set[str] = set()
    pending = list(entries)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None or (name.split(".")[0] not in own_packages and is_installed(path)):
            continue
        files[name] = path
        pending.extend(_imported_names(path, name) - seen)
    return files


def code_fingerprint(entry_modules: Iterable[str]) -> str:
    """SHA-256 over the names and contents of `code_files(entry_modules)`, in name order."""
    digest = hashlib.sha256()
    files = code_files(entry_modules)
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        with open(files[name], "rb") as handle:
            digest.update(handle.read())
        digest.update(b"\0")
    logger.debug("Fingerprinted %d modules of %s", len(files), ", ".join(sorted(set(entry_modules))))
    return digest.hexdigest()


def entry_module(dotted_path: str) -> str:
    """`modules.trainer.run_fn` -> `modules.trainer`; `mypkg.models:tiny` -> `mypkg.models`."""
    if ":" in dotted_path:
        return dotted_path.split(":", 1)[0]
    return dotted_path.rpartition(".")[0] if "." in dotted_path else dotted_path
