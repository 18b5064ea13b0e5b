"""Training curves as the course draws them: loss and the first metric per epoch, train and eval.

The course ends nearly every model with `plt.subplot(1, 2, 1)` accuracy / `plt.subplot(1, 2, 2)`
loss plots of `history.history`; the Trainer writes the same figure (`curves.png`) and the numbers
(`history.json`) into its model_run_dir, beside the TensorBoard logs.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Mapping, Sequence

logger = logging.getLogger(__name__)

CURVES_FILE = "curves.png"
HISTORY_FILE = "history.json"


class EpochHistory:
    """Per-epoch values of each metric; eval metrics (`val_*`) only at the epochs they were computed."""

    def __init__(self) -> None:
        self.values: dict[str, list[tuple[int, float]]] = {}

    def record(self, epoch: int, logs: Mapping[str, float]) -> None:
        for name, value in logs.items():
            self.values.setdefault(name, []).append((epoch, float(value)))

    def to_json(self) -> dict[str, list[list[float]]]:
        return {name: [[epoch, value] for epoch, value in points] for name, points in self.values.items()}


def _panels(names: Sequence[str]) -> list[str]:
    """The metrics to draw, the course's order: the first metric (accuracy), then the loss; a model
    with no single loss (a GAN's d_loss and g_loss) gets its first two."""
    train_names = [n for n in names if not n.startswith("val_")]
    metrics = [n for n in train_names if n != "loss"]
    if "loss" not in train_names:
        return metrics[:2]
    return [*metrics[:1], "loss"]


def write_curves(history: EpochHistory, directory: str, title: str) -> str | None:
    """Writes `curves.png` and `history.json` into `directory`; returns the PNG's path."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, HISTORY_FILE), "w", encoding="utf-8") as handle:
        json.dump(history.to_json(), handle)
    panels = _panels(list(history.values))
    if not panels:
        return None
    import matplotlib  # only the Trainer draws

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for axis, name in zip(axes[0], panels, strict=True):
        for key, label in ((name, f"Training {name}"), (f"val_{name}", f"Validation {name}")):
            points = history.values.get(key)
            if points:
                axis.plot([e for e, _ in points], [v for _, v in points], label=label, marker="." if len(points) < 30 else None)
        axis.set_title(f"Training and Validation {name}")
        axis.set_xlabel("epoch")
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    path = os.path.join(directory, CURVES_FILE)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    logger.info("curves written to %s", path)
    return path
