"""The course's accuracy/loss figure from a recorded history."""
from __future__ import annotations

import json

from modules.curves import CURVES_FILE, HISTORY_FILE, EpochHistory, write_curves


def test_writes_the_png_and_the_numbers(tmp_path):
    history = EpochHistory()
    for epoch in range(1, 6):
        history.record(epoch, {"loss": 1.0 / epoch, "sparse_categorical_accuracy": 0.5 + epoch / 20})
        if epoch % 2 == 0:
            history.record(epoch, {"val_loss": 1.1 / epoch, "val_sparse_categorical_accuracy": 0.5 + epoch / 25})
    path = write_curves(history, str(tmp_path), title="iris_softmax")
    assert path == str(tmp_path / CURVES_FILE)
    assert (tmp_path / CURVES_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / HISTORY_FILE).read_text())
    assert saved["val_loss"] == [[2, 0.55], [4, 0.275]]
    assert len(saved["loss"]) == 5


def test_no_metrics_no_figure(tmp_path):
    assert write_curves(EpochHistory(), str(tmp_path), title="x") is None
    assert json.loads((tmp_path / HISTORY_FILE).read_text()) == {}
