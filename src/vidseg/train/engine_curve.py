"""The training curve of a ``vidseg train-engine`` run as a PNG (loss and validation IoU)."""

from __future__ import annotations

import json
from pathlib import Path

from vidseg.io.atomic import atomic_path


def plot_curve(log: Path, out: Path) -> None:
    """Plot ``log.jsonl``'s running loss and validation / leave-out IoU against iterations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.plot([r["iteration"] for r in recs], [r["loss"] for r in recs], color="0.5", label="training loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax2 = ax.twinx()
    for key, colour, label in (("val_iou", "tab:blue", "validation IoU (davis2016-dev)"),
                               ("holdout_iou", "tab:orange", "left-out train sequences IoU")):
        pts = [(r["iteration"], r[key]) for r in recs if key in r]
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
