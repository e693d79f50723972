"""How fast `vidseg eval` scores DAVIS-layout results (the issue's target: the 20 DAVIS-2016 val
sequences, 1,376 frames at 854x480, in under 15 s on a 2-core machine).

Two sets: ../shared/data/davis2016-dev ground truth against shifted and eroded copies of itself
(written to a temporary folder; skipped if the data is absent), and a synthetic set of 20
sequences, 1,376 frames at 854x480 with one or two moving objects. Each is scored with 1 and 2
worker processes; the table gives wall-clock seconds and frames per second.

    python benchmarks/eval_speed.py [--json OUT] [--markdown] [--frames 1376]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vidseg.eval.davis import evaluate
from vidseg.eval.report import format_table
from vidseg.io.palette import write_mask

DAVIS_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-dev"


def perturbed_davis(dst: Path) -> tuple[Path, Path, int]:
    """GT root and results root: every DAVIS-dev mask shifted by (3, -5) px and eroded."""
    ann = DAVIS_DEV / "Annotations" / "480p"
    n = 0
    kernel = np.ones((5, 5), np.uint8)
    for seq in sorted(p for p in ann.iterdir() if p.is_dir()):
        out = dst / seq.name
        out.mkdir(parents=True)
        for f in sorted(seq.glob("*.png")):
            m = (cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8)
            m = cv2.erode(np.roll(m, (3, -5), (0, 1)), kernel)
            write_mask(out / f.name, m)
            n += 1
    return ann, dst, n


def synthetic_set(dst: Path, frames: int, n_seq: int = 20, w: int = 854, h: int = 480) -> int:
    """``n_seq`` sequences totalling ``frames`` frames: GT ellipses and noisy shifted results."""
    rng = np.random.default_rng(0)
    per = [frames // n_seq + (1 if i < frames % n_seq else 0) for i in range(n_seq)]
    for s, n in enumerate(per):
        n_obj = 1 + s % 2
        gt_dir, pr_dir = dst / "gt" / f"seq{s:02d}", dst / "pred" / f"seq{s:02d}"
        gt_dir.mkdir(parents=True)
        pr_dir.mkdir(parents=True)
        starts = rng.uniform([100, 80], [w - 100, h - 80], (n_obj, 2))
        vel = rng.uniform(-3, 3, (n_obj, 2))
        axes = rng.uniform(30, 120, (n_obj, 2))
        for t in range(n):
            gt = np.zeros((h, w), np.uint8)
            pr = np.zeros((h, w), np.uint8)
            for k in range(n_obj):
                cx, cy = starts[k] + vel[k] * t
                ax = (int(axes[k][0]), int(axes[k][1]))
                cv2.ellipse(gt, (int(cx), int(cy)), ax, 0, 0, 360, k + 1, -1)
                jit = rng.integers(-6, 7, 2)
                cv2.ellipse(pr, (int(cx + jit[0]), int(cy + jit[1])), (ax[0] + 4, ax[1] - 3),
                            float(rng.uniform(-10, 10)), 0, 360, k + 1, -1)
            write_mask(gt_dir / f"{t:05d}.png", gt)
            write_mask(pr_dir / f"{t:05d}.png", pr)
    return sum(per)


def timed(gt: Path, pred: Path, workers: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    r = evaluate(gt, pred, workers=workers)
    return time.perf_counter() - t0, r.mean()["J&F"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the rows as JSON to this file")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--frames", type=int, default=1376, help="frames of the synthetic set")
    args = ap.parse_args(argv)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="vidseg-evalspeed-") as tmp:
        sets = []
        if DAVIS_DEV.is_dir():
            gt, pred, n = perturbed_davis(Path(tmp) / "davis")
            sets.append(("davis2016-dev vs shifted+eroded", gt, pred, n))
        else:
            print(f"note: {DAVIS_DEV} is absent; only the synthetic set is scored", file=sys.stderr)
        n = synthetic_set(Path(tmp) / "syn", args.frames)
        sets.append((f"synthetic 20 seq, {n} frames 854x480", Path(tmp) / "syn" / "gt",
                     Path(tmp) / "syn" / "pred", n))
        for name, gt, pred, n in sets:
            for workers in (1, 2):
                secs, jf = timed(gt, pred, workers)
                rows.append({"set": name, "frames": n, "workers": workers, "seconds": secs,
                             "fps": n / secs, "J&F": jf})
    table = format_table(["Set", "Frames", "Workers", "Seconds", "Frames/s", "J&F"],
                         [[str(r["set"]), str(r["frames"]), str(r["workers"]), f"{r['seconds']:.2f}",
                           f"{r['fps']:.0f}", f"{r['J&F']:.4f}"] for r in rows],
                         markdown=args.markdown)
    print(table)
    print(f"({os.cpu_count()} CPUs; target: 1,376 frames in under 15 s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
