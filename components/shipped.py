"""Files that ship inside installed packages, named so that any machine can find them.

A compiled Kubeflow pipeline must not carry a path of the machine that compiled it: scikit-learn's
`iris.csv` lives in this checkout's site-packages here and somewhere else in the image. Such files
are named `package://<importable.package>/<path inside it>` instead, and each step resolves the name
where it runs (`resolve_package_uri`), in the pod's own installation.
"""
from __future__ import annotations

import importlib.util
import os

PACKAGE_SCHEME = "package://"


def package_data_dir(package: str, *parts: str) -> str:
    """A data folder inside an installed package, found without importing the package itself."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return os.path.join(f"<{package} not installed>", *parts)
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


def package_uri(package: str, *parts: str) -> str:
    """`package://sklearn.datasets/data`: a file or folder of an installed package, portably."""
    return PACKAGE_SCHEME + "/".join((package, *parts))


def resolve_package_uri(value: str) -> str:
    """The local path a `package://` name stands for on this machine; other values unchanged."""
    if not value.startswith(PACKAGE_SCHEME):
        return value
    package, _, inside = value.removeprefix(PACKAGE_SCHEME).partition("/")
    return package_data_dir(package, *[part for part in inside.split("/") if part])
