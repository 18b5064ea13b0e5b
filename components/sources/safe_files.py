"""Reading untrusted course files safely: pickles that cannot run code, archives that cannot escape.

CIFAR's batches and Keras' `imdb.npz` are Python pickles. A pickle names the callables that
rebuild its objects, so `pickle.load` on a crafted file runs whatever it names. `restricted_load`
admits only the globals a format needs (numpy's array rebuilders), so anything else is refused
before it is called. Archives are read in place, never extracted, and an archive with a member
that would land outside its folder (absolute path, `..`, links, devices) is rejected outright.
"""
from __future__ import annotations

import gzip
import io
import pickle
import posixpath
import tarfile
import zlib
from typing import IO, Any, Iterator, TextIO

# What pickled data sets need: numpy arrays (CIFAR's data, IMDB's object arrays) and, for bytes
# pickled by Python 3 at protocol 2, `_codecs.encode` (a pure str -> bytes conversion).
PICKLED_DATA_GLOBALS = frozenset(
    {
        ("_codecs", "encode"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)


class UnsafeFileError(ValueError):
    """A file that tried something its format never does; the caller adds the file name."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, handle: IO[bytes], allowed: frozenset[tuple[str, str]], encoding: str) -> None:
        super().__init__(handle, encoding=encoding)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._allowed:
            raise UnsafeFileError(
                f"the pickle asks for {module}.{name}, which this format never holds; refused "
                "(only numpy arrays, lists, dicts, numbers and strings are admitted)"
            )
        return super().find_class(module, name)


def restricted_load(
    handle: IO[bytes], allowed: frozenset[tuple[str, str]] = PICKLED_DATA_GLOBALS, encoding: str = "bytes"
) -> Any:
    """`pickle.load` that admits only `allowed` globals; raises `UnsafeFileError` otherwise.

    `encoding="bytes"` reads the Python 2 pickles CIFAR ships, as Keras' own loader does.
    """
    try:
        return _RestrictedUnpickler(handle, allowed, encoding).load()
    except UnsafeFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise UnsafeFileError(f"not a readable pickle ({type(error).__name__}: {error})") from None


def _unsafe_member_reason(member: tarfile.TarInfo) -> str | None:
    name = member.name
    if name.startswith("/") or posixpath.isabs(name) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    if ".." in posixpath.normpath(name).split("/") or ".." in name.split("/"):
        return "climbs out of the archive with '..'"
    if member.issym() or member.islnk():
        return "is a link"
    if not (member.isfile() or member.isdir()):
        return "is a device, FIFO or other special file"
    return None


def tar_members(path: str) -> Iterator[tuple[str, IO[bytes]]]:
    """Yields `(name, file)` for each regular file of the tar archive `path`, without extracting.

    Every member is checked first; one that could land outside the target folder if extracted
    makes the whole archive an `UnsafeFileError`, since no genuine course archive has one.
    """
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise UnsafeFileError(f"not a readable tar archive ({error})") from None
    with archive:
        try:
            members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise UnsafeFileError(f"truncated or corrupt tar archive ({error})") from None
        for member in members:
            reason = _unsafe_member_reason(member)
            if reason:
                raise UnsafeFileError(f"archive member {member.name!r} {reason}; refused")
        for member in members:
            if member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    try:
                        data = handle.read()
                    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
                        raise UnsafeFileError(f"member {member.name!r} is truncated ({error})") from None
                    yield member.name, io.BytesIO(data)


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: str) -> bool:
    """Whether `path` starts as a gzip file does (its name need not say so)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def read_maybe_gzip(path: str) -> bytes:
    """The bytes of `path`, gunzipped if it is gzip; a truncated or corrupt gzip is an `OSError`."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise OSError(f"truncated or corrupt gzip file ({error})") from None
    return data


# A physical line longer than this is no table row: a binary file, or a file of one endless line
# (a gzip of a gigabyte of NUL bytes is a few megabytes on disk). Reading stops there.
MAX_LINE_CHARACTERS = 1 << 20


class TextFileError(ValueError):
    """A text file that is not text as a table is: where (its line) and why; the caller names the file."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        super().__init__(reason)


def open_text(path: str) -> TextIO:
    """A file's text, gunzipped if it is gzip (whatever its name), UTF-8 with or without a
    byte-order mark (Excel's "CSV UTF-8" starts with one), universal newlines left to the reader."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def bounded_lines(handle: TextIO, limit: int = MAX_LINE_CHARACTERS) -> Iterator[str]:
    """The lines of `handle` one by one, never holding more than `limit` characters of one:
    `TextFileError` for a longer line and for a NUL character (no text file holds one), so memory
    stays bounded whatever the file holds."""
    number = 0
    while True:
        line = handle.readline(limit)
        if not line:
            return
        number += 1
        if "\x00" in line:
            raise TextFileError(number, "a NUL byte; expected text, not a binary file")
        if len(line) >= limit and not line.endswith(("\n", "\r")):
            raise TextFileError(number, f"a line of more than {limit} characters; expected rows of a table")
        yield line
