"""Built-in person models compared: the selfie segmenter against the full-body pipeline (BlazePose).

* J (region similarity, foreground = any person) and flicker (`vidseg.eval.temporal.flicker`) on
  DAVIS-2016 sequences whose object is one person: dance-twirl from davis2016-dev (854x480), and
  the person-only sequences of davis2016-train (427x240; neither model was trained on DAVIS).
  The DAVIS protocol: every frame but the first and the last is scored.
* End-to-end speed of `vidseg segment --overlay` on the bedroom clip (two people) at 854x480
  (decode, model, overlay, H.264 encode, overlapped in threads; see segment_speed.py), with the
  machine's load average, since the CPU may be shared.

Usage: python benchmarks/segment_person.py [--data ../shared/data] [--models selfie,person-full]
       [--frames 200] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEV = ("dance-twirl",)
TRAIN_PEOPLE = ("breakdance-flare", "dance-jump", "hike", "lucia", "rollerblade", "tennis")


def sequences(data: Path) -> list[tuple[str, Path, Path]]:
    """(name, frames folder, masks folder) of the person sequences present."""
    out = []
    for name in DEV:
        d = data / "davis2016-dev"
        out.append((f"{name} (dev, 480p)", d / "JPEGImages/480p" / name, d / "Annotations/480p" / name))
    for name in TRAIN_PEOPLE:
        d = data / "davis2016-train"
        out.append((f"{name} (train, 240p)", d / "JPEGImages/240p" / name, d / "Annotations/240p" / name))
    return [s for s in out if s[1].is_dir() and s[2].is_dir()]


def score(model_name: str, frames: Path, masks: Path, smooth: bool | None) -> dict[str, float]:
    import cv2

    from vidseg.eval.metrics import jaccard
    from vidseg.eval.temporal import flicker
    from vidseg.io.palette import read_mask
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    seg = Segmenter(load_model(model_name, download_ok=False), SegmentOptions(smooth=smooth))
    images = sorted(frames.glob("*.jpg"))
    gts = [read_mask(p) > 0 for p in sorted(masks.glob("*.png"))][:len(images)]
    preds = []
    t = 0.0
    for p in images[:len(gts)]:
        img = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        t0 = time.perf_counter()
        preds.append(seg(img).labels > 0)
        t += time.perf_counter() - t0
    js = [jaccard(g, q) for g, q in zip(gts[1:-1], preds[1:-1], strict=True)]
    return {"J": float(np.mean(js)), "flicker": flicker(gts, preds), "ms": 1000 * t / max(1, len(preds)),
            "frames": len(preds)}


def speed(model_name: str, frames: int, smooth: bool | None) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import segment_speed

    from vidseg.models.model import load_model
    from vidseg.segment.job import Outputs, segment_video
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    with tempfile.TemporaryDirectory(prefix="vidseg-bench-") as d:
        clip = Path(d) / "bedroom854.mp4"
        what = segment_speed.make_clip(clip, frames)
        seg = Segmenter(load_model(model_name, download_ok=False), SegmentOptions(smooth=smooth))
        load0 = os.getloadavg()[0]
        cpu0 = time.process_time()
        rep = segment_video(clip, seg, Outputs(overlay=Path(d) / "ov.mp4", force=True))
        cpu = time.process_time() - cpu0
    return {"clip": what, "fps": rep.fps, "frames": rep.frames, "load": load0,
            "cpu_ms": 1000 * cpu / max(1, rep.frames)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("VIDSEG_DATA", str(ROOT.parent / "shared" / "data")),
                    help="the shared data folder (default $VIDSEG_DATA or ../shared/data)")
    ap.add_argument("--models", default="selfie,person-full", help="models to compare (comma list)")
    ap.add_argument("--frames", type=int, default=200, help="frames of the bedroom speed clip")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)

    import segment_speed

    from vidseg.models.fetch import is_cached
    from vidseg.models.registry import known_models

    data = Path(args.data)
    segment_speed.SHARED = data
    known = known_models()
    names = [m for m in args.models.split(",") if m]
    missing = [m for m in names if m not in known or not is_cached(known[m])]
    if missing:
        print(f"skipped: model(s) {', '.join(missing)} not in the cache (vidseg models fetch NAME)", file=sys.stderr)
        names = [m for m in names if m not in missing]
    seqs = sequences(data)
    if not seqs:
        print(f"note: no DAVIS person sequences under {data}; only the speed rows are measured", file=sys.stderr)
    rows = []
    for label, frames, masks in seqs:
        for m in names:
            r = score(m, frames, masks, None)
            rows.append({"seq": label, "model": m, **r})
            print(f"{label} {m}: J {r['J']:.3f} flicker {r['flicker']:.3f} {r['ms']:.1f} ms/frame", file=sys.stderr)
    sp = []
    for m in names:
        r = speed(m, args.frames, None)
        sp.append({"model": m, **r})
        print(f"speed {m}: {r['fps']:.1f} fps (load {r['load']:.1f})", file=sys.stderr)
    _print(rows, sp, names, args.markdown)
    return 0


def _table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    w = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]
    return "\n".join("  ".join(x.ljust(n) for x, n in zip(r, w, strict=True)) for r in [headers, *rows])


def _print(rows: list[dict[str, Any]], sp: list[dict[str, Any]], names: list[str], markdown: bool) -> None:
    if rows:
        print("J (higher is better) and flicker (lower is steadier) on DAVIS-2016 person sequences, each "
              "model with its default settings:\n")
        seqs = list(dict.fromkeys(r["seq"] for r in rows))
        by = {(r["seq"], r["model"]): r for r in rows}
        body = [[s, *[f"{by[s, m]['J']:.3f} / {by[s, m]['flicker']:.3f}" for m in names]] for s in seqs]
        body.append(["**mean**", *[f"**{np.mean([by[s, m]['J'] for s in seqs]):.3f} / "
                                   f"{np.mean([by[s, m]['flicker'] for s in seqs]):.3f}**" for m in names]])
        print(_table(["sequence", *[f"{m}: J / flicker" for m in names]], body, markdown))
    if sp:
        print(f"\nEnd to end, {sp[0]['clip']}, overlay video written (H.264 superfast), 1 thread per op:\n")
        print(_table(["model", "fps", "CPU ms/frame", "load average at start (2 cores)"],
                     [[r["model"], f"{r['fps']:.1f}", f"{r['cpu_ms']:.1f}", f"{r['load']:.1f}"] for r in sp],
                     markdown))


if __name__ == "__main__":
    sys.exit(main())
