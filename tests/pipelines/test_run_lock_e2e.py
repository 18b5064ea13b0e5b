"""One run per output directory, with real processes: a second `coursepipe run` into a directory a
run holds exits 2 naming the directory and the holder, pushes nothing and records no run; a lock
left by a SIGKILLed process does not block the next run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from pipelines.runs.lock import exclusive_run, is_locked
from tests.conftest import spec_with

COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_second_run_into_a_held_directory_exits_2_and_changes_nothing(iris_spec, tmp_path):
    spec = spec_with(iris_spec, training={"epochs": 300, "validation_freq": 100})
    spec_file = tmp_path / "iris.yaml"
    spec_file.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    output = tmp_path / "out"
    command = [COURSEPIPE, "run", "--spec", str(spec_file), "--output", str(output)]

    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: is_locked(str(output)) or first.poll() is not None, 120, "the first run to start")
        assert first.poll() is None, first.communicate()
        second = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        assert first.poll() is None, "the first run ended before the second was refused; the test proves nothing"
        assert second.returncode == 2, second.stderr[-2000:]
        assert str(output) in second.stderr and f"process {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    assert "blessed: yes" in out

    listed = subprocess.run([COURSEPIPE, "runs", "--spec", str(spec_file), "--output", str(output), "--json"],
                            capture_output=True, text=True, check=True)
    runs = json.loads(listed.stdout)
    assert len(runs) == 1 and len(runs[0]["executed"]) == 8
    assert len(os.listdir(output / "serving")) == 1


def test_a_lock_left_by_a_killed_process_does_not_block(iris_spec, tmp_path):
    output = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom pipelines.runs.lock import exclusive_run\n"
        f"with exclusive_run({str(output)!r}):\n    print('held', flush=True)\n    time.sleep(300)\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert is_locked(str(output))
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert not is_locked(str(output))
    with exclusive_run(str(output)):
        assert is_locked(str(output))
