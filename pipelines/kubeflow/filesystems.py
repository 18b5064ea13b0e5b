"""The filesystems a step needs for the URIs it reads and writes.

TensorFlow 2.16 has no S3 filesystem of its own: tensorflow-io registers it (`s3://`, with the
endpoint and keys from the environment: `S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, ...) when imported.
Beam's S3 filesystem needs boto3 and reads the same environment (`AWS_ENDPOINT_URL`). Nothing
imports tensorflow-io for a pipeline that uses no `s3://` URI.
"""
from __future__ import annotations

import importlib

S3_SCHEME = "s3://"


class MissingFilesystemError(RuntimeError):
    """An `s3://` URI without the package that reads it."""


def load_filesystems_for(text: str) -> None:
    """Registers TensorFlow's S3 filesystem when `text` (a node's IR, a URI) names an `s3://` URI."""
    if S3_SCHEME not in text:
        return
    try:
        importlib.import_module("tensorflow_io")
    except ImportError as error:
        raise MissingFilesystemError(
            f"an s3:// URI needs TensorFlow's S3 filesystem from tensorflow-io, which does not import here "
            f"({error}); install this project with its dependencies (pip install -c constraints.txt .)"
        ) from None
