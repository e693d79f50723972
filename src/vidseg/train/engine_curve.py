"""Training curves as PNGs: the running loss and the validation IoU(s) against progress."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from vidseg.io.atomic import atomic_path

ENGINE_SERIES = (("val_iou", "tab:blue", "validation IoU (davis2016-dev)"),
                 ("holdout_iou", "tab:orange", "left-out train sequences IoU"))


def read_log(log: Path) -> list[dict]:
    """The records of a JSON-lines log (``log.jsonl``) or a JSON list (``log.json``)."""
    text = log.read_text()
    if log.suffix == ".json":
        data = json.loads(text)
        return list(data["epochs"] if isinstance(data, dict) else data)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def plot_curve(log: Path, out: Path, *, x: str = "iteration",
               series: Sequence[tuple[str, str, str]] = ENGINE_SERIES) -> None:
    """Plot a log's ``loss`` and its IoU ``series`` ``(key, colour, label)`` against ``x``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = read_log(log)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.plot([r[x] for r in recs], [r["loss"] for r in recs], color="0.5", label="training loss")
    ax.set_xlabel(x)
    ax.set_ylabel("loss")
    ax2 = ax.twinx()
    for key, colour, label in series:
        pts = [(r[x], r[key]) for r in recs if key in r]
        if pts:
            ax2.plot(*zip(*pts, strict=True), marker="o", color=colour, label=label)
    ax2.set_ylabel("mean IoU")
    ax2.set_ylim(0, 1)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="lower left")
    with atomic_path(out, force=True) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
