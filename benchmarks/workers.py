"""One measurement in a fresh Python process: cold imports, first traces and peak memory are the
process's own, and nothing one measurement loads speeds up the next."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Mapping


def run_worker(module: str, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`python -m MODULE --worker ARGS…`; returns the JSON object on the worker's last stdout line."""
    completed = subprocess.run(
        [sys.executable, "-m", module, "--worker", *args], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{module} worker {args} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
