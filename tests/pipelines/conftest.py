"""Runs shared by the pipeline tests: one cold and one warm `coursepipe run iris_softmax` per session."""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO

import pytest

from pipelines import cli
from pipelines.runs.summary import latest_run_summary


@pytest.fixture(scope="session")
def runs(tmp_path_factory, iris_spec):
    """(cold summary, cold stdout, warm summary, output dir) of two CLI runs in one directory."""
    output = str(tmp_path_factory.mktemp("iris_run"))
    capture = {}
    for attempt in ("cold", "warm"):
        buffer = StringIO()
        with redirect_stdout(buffer):
            code = cli.main(["run", "iris_softmax", "--output", output])
        assert code == 0, buffer.getvalue()
        capture[attempt] = (latest_run_summary(os.path.join(output, "metadata.sqlite")), buffer.getvalue())
    return capture["cold"], capture["warm"], output
