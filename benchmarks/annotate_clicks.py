"""Clicks to masks: IoU after 1..5 clicks of a simulated user, the click head against the colour
rules (geodesic region + GrabCut, local GrabCut edits) it replaced as the page's first choice.

The simulated user (as interactive segmentation papers count it, and as the DAVIS interactive
benchmark of ``annotate_interactive.py`` clicks): the first click on the object's most interior
pixel, each later one on the interior of the largest error region (positive on a missed part,
negative on a wrong one). Frames: every 10th frame of each davis2016-dev sequence (854x480) and
of the six davis2016-train sequences the shipped heads never trained on (427x240). Each click
goes through the code the annotation page runs: ``ClickSegmenter`` (the head; where its mask
ignores the click, the colour rules) or ``click_mask`` alone.

    python benchmarks/annotate_clicks.py [--data ../shared/data] [--clicks 5] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from vidseg.annotate.click_segmenter import ClickSegmenter
from vidseg.annotate.clicks import click_mask
from vidseg.eval.metrics import jaccard
from vidseg.eval.simulated_user import correction_click, interior_point
from vidseg.io.images import read_rgb
from vidseg.io.palette import read_mask

LEAVE_OUT = ("bmx-bumps", "breakdance-flare", "drift-turn", "kite-walk", "paragliding", "rhino")


def frames(root: Path, res: str, only: tuple[str, ...] | None, every: int = 10
           ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    for seq in sorted((root / "Annotations" / res).iterdir()):
        if only is not None and seq.name not in only:
            continue
        for k, png in enumerate(sorted(seq.glob("*.png"))):
            if k % every == 0:
                gt = read_mask(png) > 0
                if gt.sum() >= 100:
                    out.append((seq.name, read_rgb(root / "JPEGImages" / res / seq.name / f"{png.stem}.jpg"), gt))
    return out


def run(items: list[tuple[str, np.ndarray, np.ndarray]], method: str, clicks: int
        ) -> tuple[np.ndarray, list[float]]:
    """(frames, clicks) IoUs and every click's milliseconds."""
    segmenter = ClickSegmenter() if method == "head" else None
    ious = np.zeros((len(items), clicks))
    times: list[float] = []
    for i, (_, image, gt) in enumerate(items):
        mask = np.zeros(gt.shape, bool)
        x, y = interior_point(gt)
        click: tuple[float, float, bool] | None = (float(x), float(y), True)
        for k in range(clicks):
            if click is not None:
                t0 = time.perf_counter()
                got = segmenter.mask(i, 1, image, click, mask) if segmenter is not None else None
                mask = got if got is not None else click_mask(image, click[0], click[1], click[2], mask)
                times.append(1000 * (time.perf_counter() - t0))
            ious[i, k] = jaccard(gt, mask)
            click = correction_click(gt, mask)
    return ious, times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("VIDSEG_DATA", "../shared/data"))
    ap.add_argument("--clicks", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "davis2016-dev").is_dir():
        print(f"Click benchmark skipped: no davis2016-dev under --data ({args.data}); pass --data /path/to/shared/data.")
        return 0
    sets = {"davis2016-dev": frames(data / "davis2016-dev", "480p", None)}
    if (data / "davis2016-train").is_dir():
        sets["left-out train"] = frames(data / "davis2016-train", "240p", LEAVE_OUT)
    results: dict[str, dict[str, object]] = {}
    for name, items in sets.items():
        for method in ("head", "colour"):
            ious, times = run(items, method, args.clicks)
            results[f"{name}/{method}"] = {"frames": len(items), "iou": ious.mean(0).tolist(),
                                           "ms": statistics.median(times)}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if not args.markdown:
        print(json.dumps(results, indent=1))
        return 0
    k = args.clicks
    print("| frames | clicks to mask | " + " | ".join(f"IoU after {c}" for c in range(1, k + 1))
          + " | ms per click (median) |")
    print("| --- | --- | " + " | ".join(["---:"] * k) + " | ---: |")
    for key, r in results.items():
        name, method = key.split("/")
        label = ("click head (a first click: GrabCut's region where it explains the head's)" if method == "head"
                 else "colour rules alone (geodesic + GrabCut)")
        ious = r["iou"]
        assert isinstance(ious, list)
        print(f"| {name} ({r['frames']}) | {label} | " + " | ".join(f"{v:.3f}" for v in ious)
              + f" | {r['ms']:.0f} |")
    print(f"(every 10th frame; a simulated user: the object's interior, then the interior of the largest "
          f"error; {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
