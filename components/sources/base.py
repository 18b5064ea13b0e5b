"""What a course data source is: where its files are, how to read them, what it emits.

A source knows nothing of TFX. `read(files, options)` returns plain records (dicts of numbers,
arrays and strings), either as the source's own `train`/`eval` splits or as one pool under `all`;
`components.example_gen` splits them as the spec says and writes `tf.Example`s. Every reading
error is a `DataFileError` naming the file, the record or field and what was expected, raised
before anything is written, so a bad file never publishes a partial artifact.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from pydantic import ValidationError

from components.shipped import package_data_dir, package_uri, resolve_package_uri
from components.splits import SplitConfig
from modules.features import FeatureSet
from modules.spec_sections import StrictModel

Value = float | int | str | bytes | np.ndarray | Sequence[int] | Sequence[float]
Record = dict[str, Value]
SourceRecords = dict[str, list[Record]]
Sized = np.ndarray | Sequence[Any]

SPAN_DIR_PATTERN = "span-{SPAN}"
_SPAN_DIR = re.compile(r"^span-(\d+)$")


class DataFileError(ValueError):
    """A data file that cannot be read as its source's format; the message names file and record."""


class MissingDataError(FileNotFoundError):
    """The source's files are not where the run looks; the message says what, where and how to get it."""


class NoOptions(StrictModel):
    """A source without options."""


@dataclass(frozen=True)
class DataLocation:
    """Where the ExampleGen reads: a base directory and a glob pattern under it.

    The pattern may hold `{SPAN}` (`span-{SPAN}/mnist.npz`); TFX's driver then picks the newest
    span and records it on the Examples artifact. `pattern` is empty for generated sources.
    """

    input_base: str
    pattern: str

    @property
    def has_spans(self) -> bool:
        return "{SPAN}" in self.pattern

    def local_files(self) -> list[str]:
        """The files a span-less location holds on this machine (none for a generated source).

        The ExampleGen itself globs the pattern TFX's driver resolved, through TFX's filesystem.
        """
        if self.has_spans:
            raise ValueError(f"{self.input_base}/{self.pattern}: resolve the span first")
        if not self.pattern:
            return []
        return files_inside(self.input_base, sorted(glob.glob(os.path.join(self.input_base, self.pattern))))

    def newest_files(self) -> list[str]:
        """The files of the newest span (or of the span-less location) on this machine."""
        if not self.has_spans:
            return self.local_files()
        newest = self.pattern.replace("{SPAN}", str(span_numbers(self.input_base)[-1]))
        return DataLocation(self.input_base, newest).local_files()


def files_inside(base: str, files: list[str]) -> list[str]:
    """`files` when each, links resolved, lies inside the data directory `base`; DataFileError
    naming the first that does not (a link in a data folder pointing at /etc/passwd or another
    user's files is not the user's data). Remote URIs are as the store lists them."""
    if "://" in base:
        return files
    root = os.path.realpath(base)
    for path in files:
        target = os.path.realpath(path)
        if os.path.commonpath([root, target]) != root:
            raise DataFileError(f"{path}: a link to {target}, outside the data directory {base}; refused "
                                "(copy the file into the data directory)")
    return files


@dataclass(frozen=True)
class DataSource:
    """One course data set.

    `layouts` are the alternative glob patterns (relative to a data directory) that hold its
    files, the preferred first; an empty tuple marks a generated source, which reads no file and
    builds its records from `options` alone. `default_dirs` are tried in order when the spec and
    the command line name no directory.
    """

    id: str
    description: str
    features: Callable[[Any], FeatureSet]
    read: Callable[[Sequence[str], Any], SourceRecords]
    default_split: SplitConfig
    layouts: tuple[str, ...] = ()
    default_dirs: Callable[[], Sequence[str]] = lambda: ()
    # (package, folder) of an installed package that ships the data, which every image has too.
    shipped_in: tuple[str, ...] | None = None
    how_to_get: str = ""
    options_class: type[StrictModel] = NoOptions
    accepts_file: bool = True
    # The source splits by itself (prices: by date, windows on each side); data.split cannot change it.
    fixed_split: bool = False
    # The source can return its own train/eval splits (file names, a split column): data.split may be `given`.
    can_give_split: bool = False

    @property
    def generated(self) -> bool:
        return not self.layouts

    def parse_options(self, options: Mapping[str, Any] | None) -> StrictModel:
        """The source's options from `data.options`; a `ValidationError` names the bad ones."""
        return self.options_class.model_validate(dict(options or {}))

    def feature_set(self, options: Mapping[str, Any] | None = None) -> FeatureSet:
        """The features this source emits with these options (invalid options: the defaults)."""
        try:
            parsed = self.parse_options(options)
        except ValidationError:
            parsed = self.options_class()
        return self.features(parsed)


def keras_cache_dir() -> str:
    """Where `keras.datasets.*.load_data()` caches its downloads (honours `KERAS_HOME`)."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(keras_home, "datasets")


def span_numbers(directory: str) -> list[int]:
    """The N of every span-<N> folder in `directory`, ascending."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    return sorted(
        int(match.group(1))
        for entry in entries
        if (match := _SPAN_DIR.match(entry)) and os.path.isdir(os.path.join(directory, entry))
    )


def _first_layout(source: DataSource, directory: str) -> str | None:
    for layout in source.layouts:
        if glob.glob(os.path.join(directory, layout)):
            return layout
    return None


def _expected(source: DataSource) -> str:
    return " or ".join(repr(layout) for layout in source.layouts)


def locate(source: DataSource, path: str | None, field_name: str = "data.path") -> DataLocation:
    """Where `source`'s files are, given a directory or file from the spec or the command line.

    A directory holding `span-<N>` folders is read span by span (a new data drop is a new
    folder); otherwise its files are span 0. No path: the source's default directories.
    Raises `MissingDataError` naming what was expected where, and how to get it.
    """
    if source.generated:
        return DataLocation(input_base=os.path.abspath(path or os.curdir), pattern="")
    if path is None:
        candidates = list(source.default_dirs())
        for directory in candidates:
            if _first_layout(source, directory) is not None:
                return DataLocation(os.path.abspath(directory), _first_layout(source, directory) or "")
        where = ", ".join(candidates) or "(no default directory)"
        raise MissingDataError(
            f"{source.id}: no data found; expected {_expected(source)} in {where}. "
            f"{source.how_to_get} Or name a directory with --data-dir, or data.path in the spec."
        )
    path = os.path.abspath(os.path.expanduser(resolve_package_uri(path)))
    if os.path.isfile(path):
        if not source.accepts_file:
            raise MissingDataError(
                f"{field_name}: {path} is a file; the {source.id} source reads a directory "
                f"holding {_expected(source)}"
            )
        return DataLocation(os.path.dirname(path), glob.escape(os.path.basename(path)))
    if not os.path.isdir(path):
        raise MissingDataError(
            f"{field_name}: {path} does not exist; expected a directory holding "
            f"{_expected(source)}. {source.how_to_get}"
        )
    spans = span_numbers(path)
    if spans:
        latest = os.path.join(path, SPAN_DIR_PATTERN.replace("{SPAN}", str(spans[-1])))
        layout = _first_layout(source, latest)
        if layout is None:
            raise MissingDataError(
                f"{field_name}: the newest span folder {latest} holds no {source.id} data; "
                f"expected {_expected(source)} in it"
            )
        return DataLocation(path, f"{SPAN_DIR_PATTERN}/{layout}")
    layout = _first_layout(source, path)
    if layout is None:
        raise MissingDataError(
            f"{field_name}: no {source.id} data in {path}; expected {_expected(source)} there "
            f"(or span-<N> folders holding it). {source.how_to_get}"
        )
    return DataLocation(path, layout)


def check_label(path: str, where: str, label: int, num_classes: int | None, name: str = "label") -> int:
    """A class index in range, or a `DataFileError` naming the file and the record."""
    if num_classes is not None and not 0 <= label < num_classes:
        raise DataFileError(
            f"{path}: {where}: field {name!r} expected a class index 0..{num_classes - 1}, got {label}"
        )
    return int(label)


def check_labels(path: str, labels: np.ndarray, num_classes: int, name: str = "label") -> None:
    """All of `labels` in [0, num_classes); the error names the first bad record."""
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        check_label(path, f"record {bad[0]}", int(labels[bad[0]]), num_classes, name)


def check_same_length(path: str, images: Sized, labels: Sized, what: str = "images") -> None:
    if len(images) != len(labels):
        raise DataFileError(
            f"{path}: {len(images)} {what} but {len(labels)} labels; expected one label per example"
        )



def declared_location(source: DataSource, path: str | None) -> DataLocation:
    """Where an orchestrator elsewhere will read (compiling for Kubeflow): the files need not be here.

    A local path that holds the data resolves as `locate` does; a remote URI (`gs://…`) or a path
    absent here takes the source's preferred layout under it.
    """
    if source.generated:
        return DataLocation(path or os.curdir, "")
    if path is not None and "://" in path:
        return DataLocation(path.rstrip("/"), source.layouts[0])
    try:
        return locate(source, path)
    except MissingDataError:
        base = path or next(iter(source.default_dirs()), os.curdir)
        return DataLocation(base, source.layouts[0])


class ClusterDataError(ValueError):
    """A source whose files no image ships, compiled for a cluster without a location for them."""


def cluster_location(source: DataSource, path: str | None) -> DataLocation:
    """Where a step on a cluster reads: `path` as given (a URI or a path the pods mount), the
    installed package's copy for shipped data (`package://…`, resolved inside the pod), or
    nothing for a generated source. Never a path of this machine that the pods lack."""
    if source.generated:
        return DataLocation(path or os.curdir, "")
    if path is not None:
        return declared_location(source, path)
    if source.shipped_in is None:
        raise ClusterDataError(
            f"the {source.id} source reads files that no image ships; give --data-dir URI "
            "(gs://…, s3://… or a path every pod mounts) or data.path in the spec"
        )
    layout = _first_layout(source, package_data_dir(*source.shipped_in)) or source.layouts[0]
    return DataLocation(package_uri(*source.shipped_in), layout)

