"""Runs that go wrong, through `coursepipe` in real processes, counting the pushed models at each
step: a run killed with SIGKILL in the Trainer says "interrupted" and resumes; a truncated store is
reported (exit 2, the file named, the models untouched) and `--fresh` starts over beside it without
pushing the model it already pushed; a component that raises is reported with its error."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from pipelines import cli
from tests.conftest import spec_with

COURSEPIPE = str(Path(sys.executable).parent / "coursepipe")


def _coursepipe(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([COURSEPIPE, *argv], capture_output=True, text=True, check=False, timeout=600)


def _pushed(output: Path) -> list[str]:
    serving = output / "serving"
    return sorted(os.listdir(serving)) if serving.exists() else []


def test_killed_resumed_damaged_and_started_over(iris_spec, tmp_path):
    spec = spec_with(iris_spec, training={"epochs": 1000, "validation_freq": 500})
    spec_file = tmp_path / "iris.yaml"
    spec_file.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    output = tmp_path / "out"
    run = ["run", "--spec", str(spec_file), "--output", str(output)]

    # 1. Killed with SIGKILL while the Trainer trains.
    killed = subprocess.Popen([COURSEPIPE, *run], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in killed.stderr:
        seen.append(line)
        if "Trainer ..." in line:
            break
    # The launcher has registered the Trainer's execution once its output directories exist.
    model_runs = output / "pipeline" / "Trainer" / "model_run"
    deadline = time.monotonic() + 120
    while not (model_runs.exists() and os.listdir(model_runs)) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    assert killed.poll() is None, "".join(seen[-20:])
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert _pushed(output) == []
    history = _coursepipe("runs", "--spec", str(spec_file), "--output", str(output), "--json")
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout)[-1]["interrupted"] == ["Trainer"]
    table = _coursepipe("runs", "--spec", str(spec_file), "--output", str(output))
    assert "interrupted: Trainer" in table.stdout

    # 2. Resumed: what finished before the kill comes from cache; one model pushed.
    resumed = _coursepipe(*run, "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout)
    assert "Trainer" in summary["executed"] and "Transform" in summary["cached"]
    assert summary["blessed"] is True
    assert len(_pushed(output)) == 1

    # 3. The store truncated: every command that reads it says so, exit 2, and names the file.
    store = output / "metadata.sqlite"
    store.write_bytes(store.read_bytes()[: store.stat().st_size // 3])
    for command in (run, ["runs", "--spec", str(spec_file), "--output", str(output)],
                    ["report", "--spec", str(spec_file), "--output", str(output)]):
        damaged = _coursepipe(*command)
        assert damaged.returncode == 2, (command, damaged.stderr[-2000:])
        assert str(store) in damaged.stderr and "--fresh" in damaged.stderr and "untouched" in damaged.stderr
        assert "Traceback" not in damaged.stderr
    assert len(_pushed(output)) == 1

    # 4. Started over beside the damaged store: no AlreadyExistsError, the same model not pushed again.
    fresh = _coursepipe(*run, "--fresh", "--json")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    summary = json.loads(fresh.stdout)
    assert len(summary["executed"]) == 8
    assert _pushed(output) == _pushed(output)[:1]
    assert summary["already_pushed"] is True and summary["pushed_destination"].endswith(_pushed(output)[0])
    set_aside = [name for name in os.listdir(output) if name.startswith("previous-")]
    assert len(set_aside) == 1
    assert sorted(os.listdir(output / set_aside[0])) == ["metadata.sqlite", "pipeline"]


BROKEN_BUILDER = '''def broken(hparams):
    raise ValueError("this builder is broken on purpose")
'''


def test_a_failed_runs_history_and_report_say_which_step_failed_and_why(iris_spec, tmp_path, monkeypatch, capsys):
    package = tmp_path / "code" / "brokenpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(BROKEN_BUILDER)
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    spec = spec_with(iris_spec, model={"name": "brokenpkg.models:broken", "hparams": {"input_shape": [4]}},
                     training={"epochs": 2})
    spec_file = tmp_path / "broken.yaml"
    spec_file.write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    output = str(tmp_path / "out")

    assert cli.main(["run", "--spec", str(spec_file), "--output", output]) == 1
    capsys.readouterr()
    assert cli.main(["runs", "--spec", str(spec_file), "--output", output, "--json"]) == 0
    latest = json.loads(capsys.readouterr().out)[-1]
    assert latest["failed"] == ["Trainer"]
    assert "this builder is broken on purpose" in latest["errors"]["Trainer"]
    assert cli.main(["runs", "--spec", str(spec_file), "--output", output]) == 0
    assert "failed: Trainer" in capsys.readouterr().out
    page = tmp_path / "report.html"
    assert cli.main(["report", "--spec", str(spec_file), "--output", output, "--to", str(page)]) == 0
    text = page.read_text()
    assert "The run failed" in text and "this builder is broken on purpose" in text
