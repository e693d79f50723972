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


def _model(spec: str) -> tuple[str, dict[str, Any]]:
    name, _, runs = spec.partition(":")
    return name, ({"runs_per_frame": int(runs)} if runs else {})


def score(model_name: str, options: dict[str, Any], frames: Path, masks: Path) -> dict[str, float]:
    """J and flicker of the foreground (every person found) and, for instance models, of the one
    person DAVIS annotates: the id that covers most of its mask over the sequence."""
    import cv2

    from vidseg.eval.metrics import jaccard
    from vidseg.eval.temporal import flicker
    from vidseg.io.palette import read_mask
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    seg = Segmenter(load_model(model_name, download_ok=False), SegmentOptions(**options))
    images = sorted(frames.glob("*.jpg"))
    gts = [read_mask(p) > 0 for p in sorted(masks.glob("*.png"))][:len(images)]
    labels = []
    t = 0.0
    for p in images[:len(gts)]:
        img = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        t0 = time.perf_counter()
        labels.append(seg(img).labels)
        t += time.perf_counter() - t0
    preds = [lab > 0 for lab in labels]
    if seg.task == "instance":  # the id covering most of the annotated person over the sequence
        counts = sum(np.bincount(lab[g], minlength=256) for lab, g in zip(labels, gts, strict=True))
        counts[0] = 0
        one = int(np.argmax(counts)) if counts.max() > 0 else -1
        person = [lab == one for lab in labels]
    else:
        person = preds
    j_all = [jaccard(g, q) for g, q in zip(gts[1:-1], preds[1:-1], strict=True)]
    j_one = [jaccard(g, q) for g, q in zip(gts[1:-1], person[1:-1], strict=True)]
    return {"J": float(np.mean(j_one)), "J_all": float(np.mean(j_all)), "flicker": flicker(gts, person),
            "ms": 1000 * t / max(1, len(preds)), "frames": len(preds)}


def bedroom_consistency(data: Path, model_name: str, options: dict[str, Any], frames: int) -> float | None:
    """Mean flow-warped IoU of consecutive foreground masks on the bedroom clip (no ground truth;
    higher is steadier), at 854x480."""
    import cv2

    from vidseg.eval.temporal import temporal_consistency
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    files = sorted((data / "real-clips" / "bedroom").glob("*.jpg"))[:frames]
    if not files:
        return None
    seg = Segmenter(load_model(model_name, download_ok=False), SegmentOptions(**options))

    def pairs() -> Any:
        for p in files:
            img = cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (854, 480), interpolation=cv2.INTER_AREA)
            yield img, (seg(img).labels > 0).astype(np.uint8)

    tc = temporal_consistency(pairs())
    return float(np.mean(tc[1])) if 1 in tc else None


def speed(model_name: str, frames: int, options: dict[str, Any]) -> dict[str, Any]:
    import segment_speed
    from vidseg.models.model import load_model
    from vidseg.segment.job import Outputs, segment_video
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    with tempfile.TemporaryDirectory(prefix="vidseg-bench-") as d:
        clip = Path(d) / "bedroom854.mp4"
        what = segment_speed.make_clip(clip, frames)
        seg = Segmenter(load_model(model_name, download_ok=False), SegmentOptions(**options))
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
    ap.add_argument("--models", default="selfie,person-full,person-full:0",
                    help="models to compare (comma list; NAME:N runs person-full's landmark model N times a "
                         "frame, 0 = on every person every frame)")
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
    missing = [m for m in names if _model(m)[0] not in known or not is_cached(known[_model(m)[0]])]
    if missing:
        print(f"skipped: model(s) {', '.join(missing)} not in the cache (vidseg models fetch NAME)", file=sys.stderr)
        names = [m for m in names if m not in missing]
    seqs = sequences(data)
    if not seqs:
        print(f"note: no DAVIS person sequences under {data}; only the speed rows are measured", file=sys.stderr)
    rows = []
    for label, frames, masks in seqs:
        for m in names:
            r = score(*_model(m), frames, masks)
            rows.append({"seq": label, "model": m, **r})
            print(f"{label} {m}: J {r['J']:.3f} (all people {r['J_all']:.3f}) flicker {r['flicker']:.3f} {r['ms']:.1f} ms/frame", file=sys.stderr)
    sp = []
    for m in names:
        r = speed(_model(m)[0], args.frames, _model(m)[1])
        r["tc"] = bedroom_consistency(data, *_model(m), args.frames)
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
              "model with its default settings. person-full is scored on the id of the annotated person "
              "(the id covering most of its mask over the sequence); J of every person it finds (the "
              "foreground, as for selfie) is in brackets: spectators are people too but not in the "
              "ground truth. `person-full:0` is `--runs-per-frame 0` (the landmark model on every "
              "person, every frame; the default runs it once a frame).\n")
        seqs = list(dict.fromkeys(r["seq"] for r in rows))
        by = {(r["seq"], r["model"]): r for r in rows}
        def cell(r: dict[str, Any]) -> str:
            extra = f" ({r['J_all']:.3f})" if abs(r["J_all"] - r["J"]) > 5e-4 else ""
            return f"{r['J']:.3f}{extra} / {r['flicker']:.3f}"

        body = [[s, *[cell(by[s, m]) for m in names]] for s in seqs]
        body.append(["**mean**", *[f"**{np.mean([by[s, m]['J'] for s in seqs]):.3f} / "
                                   f"{np.mean([by[s, m]['flicker'] for s in seqs]):.3f}**" for m in names]])
        print(_table(["sequence", *[f"{m}: J / flicker" for m in names]], body, markdown))
    if sp:
        print(f"\nEnd to end, {sp[0]['clip']}, overlay video written (H.264 superfast), 1 thread per op:\n")
        print(_table(["model", "fps", "CPU ms/frame", "fps if 2 idle cores", "load average at start (2 cores)",
                      "temporal consistency (bedroom)"],
                     [[r["model"], f"{r['fps']:.1f}", f"{r['cpu_ms']:.1f}", f"{2000 / r['cpu_ms']:.0f}", f"{r['load']:.1f}",
                       "-" if r["tc"] is None else f"{r['tc']:.3f}"] for r in sp], markdown))
        print("\n(CPU ms/frame counts every thread of the run; 2000 / it bounds what two idle cores could "
              "give. Temporal consistency: IoU of each foreground mask with the previous one warped by "
              "optical flow, higher is steadier.)")


if __name__ == "__main__":
    sys.exit(main())
