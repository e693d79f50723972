"""The progress display of ``vidseg train`` and ``vidseg distil``: a bar for each preparation
stage, then one over the training steps with the running loss and the last validation IoU."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from tqdm import tqdm

from vidseg.cli.common import echo


class FitProgress:
    """Callbacks and a consumer for the records of :func:`vidseg.train.loop.fit`."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bars: dict[str, tqdm] = {}
        self.say = echo(quiet)

    def stage(self, name: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if name not in self.bars:
            self.bars[name] = tqdm(total=total or None, desc=name, unit="frame", dynamic_ncols=True)
        self.bars[name].n = done
        self.bars[name].refresh()

    def consume(self, records: Iterable[dict]) -> dict:
        """Show the records; return the last epoch's."""
        last: dict = {}
        bar: tqdm | None = None
        for rec in records:
            if "step" in rec:
                if bar is None and not self.quiet:
                    bar = tqdm(total=rec["total"], desc="train", unit="step", dynamic_ncols=True)
                    bar.n = rec["step"] - 1
                if bar is not None:
                    bar.n = rec["step"]
                    bar.set_postfix({"loss": f"{rec['loss']:.3f}",
                                     **({"IoU": f"{last['val_iou']:.3f}"} if "val_iou" in last else {})})
            else:
                last = rec
                if bar is not None:
                    bar.write(f"epoch {rec['epoch']}: loss {rec['loss']:.4f}, "
                              + ", ".join(f"{k} {v:.4f}" for k, v in rec.items() if k.endswith("_iou")))
        if bar is not None:
            bar.close()
        self.close()
        return last

    def close(self) -> None:
        """Close the preparation stages' bars."""
        for b in self.bars.values():
            b.close()

    def done(self, run: Path, best: Callable[[], str]) -> None:
        self.say(f"Best epoch {best()}; model {run / 'model.onnx'} (+ model.json card), log {run / 'log.json'}, "
                 f"curve {run / 'curve.png'}, checkpoints {run / 'checkpoint.pt'}, {run / 'best.pt'}")


def best_epoch(run: Path) -> str:
    import json

    doc = json.loads((run / "log.json").read_text())
    rec = max(doc["epochs"], key=lambda r: r["val_iou"])
    return f"{rec['epoch']} (validation IoU {rec['val_iou']:.4f})"
