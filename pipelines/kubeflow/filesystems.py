"""The filesystems a step needs for the URIs it reads and writes.

TensorFlow 2.16 has no S3 filesystem of its own: tensorflow-io registers it (`s3://`, with the
endpoint and keys from the environment: `S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, ...) when imported.
Beam's S3 filesystem needs boto3 and reads the same environment (`AWS_ENDPOINT_URL`). Nothing
imports tensorflow-io for a pipeline that uses no `s3://` URI.

A Beam step with a CPU limit runs Beam's multi-processing workers (`kfp_compiler.beam_args_for_pod`):
fresh Python processes (`apache_beam.runners.worker.sdk_worker_main`) that have not imported
tensorflow-io, so TensorFlow in them knows no `s3://` ("File system scheme 's3' not implemented").
The FnApiRunner hands its workers no pipeline options (so `--beam_plugins` never reaches them),
but each worker reads its options from the file named by `PIPELINE_OPTIONS_FILE` when that
variable is set, and imports the `beam_plugins` listed there first. The step sets it.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import tempfile

logger = logging.getLogger(__name__)

S3_SCHEME = "s3://"
S3_FILESYSTEM_MODULE = "tensorflow_io"  # importing it registers TensorFlow's s3:// filesystem
WORKER_OPTIONS_ENV = "PIPELINE_OPTIONS_FILE"  # read by Beam's sdk_worker_main


class MissingFilesystemError(RuntimeError):
    """An `s3://` URI without the package that reads it."""


def load_filesystems_for(text: str) -> None:
    """Registers TensorFlow's S3 filesystem when `text` (a node's IR, a URI) names an `s3://` URI,
    here and in the Beam worker processes this process starts."""
    if S3_SCHEME not in text:
        return
    try:
        importlib.import_module(S3_FILESYSTEM_MODULE)
    except ImportError as error:
        raise MissingFilesystemError(
            f"an s3:// URI needs TensorFlow's S3 filesystem from tensorflow-io, which does not import here "
            f"({error}); install this project with its dependencies (pip install -c constraints.txt .)"
        ) from None
    _load_in_beam_workers(S3_FILESYSTEM_MODULE)


def _load_in_beam_workers(module: str) -> None:
    """Makes every Beam worker process started from here import `module` (see the module docstring)."""
    if WORKER_OPTIONS_ENV in os.environ:
        logger.warning("%s is set already (%s); Beam workers will not import %s unless it lists it in beam_plugins",
                       WORKER_OPTIONS_ENV, os.environ[WORKER_OPTIONS_ENV], module)
        return
    path = os.path.join(tempfile.gettempdir(), f"coursepipe-beam-workers-{module}.json")
    handle, scratch = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as options:
        json.dump({"beam_plugins": [module]}, options)
    os.replace(scratch, path)  # steps running side by side write the same file
    os.environ[WORKER_OPTIONS_ENV] = path
