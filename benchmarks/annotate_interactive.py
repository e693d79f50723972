"""`vidseg annotate`: click-to-mask and seek latency at 854x480, and the DAVIS interactive measure.

* **Click to mask**: the time of a first click on an object on a frame (after the first frame there
  is a user-set frame, so it first tries the backbone's feature match to it, then the geodesic
  region + GrabCut) and of a corrective click on its mask (the feature match, else a local GrabCut
  edit), on the first frames of davis2016-dev
  (854x480; synthetic 854x480 frames without the data), as the server runs them
  (``AnnotateSession.click``: the click, the mask composed and saved atomically in the project).
* **Seek**: random access to frames of an 854x480 H.264 clip (300 frames, a keyframe every 60
  frames, as cameras and phones write), through the page's frame store with an empty cache: the
  decoded frame and its JPEG for the page.
* **DAVIS interactive** (as the DAVIS interactive benchmark and MiVOS report J&F against
  interactions): per sequence of davis2016-dev, one object; a simulated user clicks once on frame 0
  at the object's most interior pixel (maximum of the distance transform), then propagates (the
  learned ``default`` engine, both ways); then, for 5 rounds, finds the frame with the lowest J,
  clicks once there at the interior of the largest error region (positive on a missed region,
  negative on a false one) and propagates again (the server's rule: only around the corrected
  frame, up to its user-set neighbours, carrying only the change the click made to that frame
  (difference-aware fusion), each frame between two user-set frames blending the probabilities
  propagated from both by distance). J&F is the mean over every frame of the sequence, then
  over sequences. Every step goes through the same code as the page (``AnnotateSession``), with a
  project folder in a temporary directory.
* **The engine's ceiling**: the same rounds with a perfect correction instead of a click (the worst
  frame gets its ground-truth mask, uploaded as the page's mask upload does): how far better clicks
  alone could take the measure, with the same propagation.

    python benchmarks/annotate_interactive.py [--data ../shared/data] [--rounds 5] [--engine default]
        [--sequences a,b] [--no-ceiling] [--markdown] [--json OUT]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidseg.annotate.frames import FrameStore
from vidseg.annotate.session import AnnotateSession
from vidseg.eval.metrics import f_measure, jaccard
from vidseg.eval.simulated_user import correction_click, interior_point
from vidseg.io.images import read_rgb
from vidseg.io.palette import label_image, read_mask
from vidseg.synthetic import demo_scene, encode_clip

SEQUENCES = ("blackswan", "bmx-trees", "car-shadow", "dance-twirl", "kite-surf")


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# -- click latency -------------------------------------------------------------------------------
def click_latency(data: Path | None, tmp: Path) -> dict[str, float]:
    frames: list[tuple[np.ndarray, np.ndarray]] = []
    if data is not None:
        for seq in SEQUENCES:
            root = data / "davis2016-dev"
            for t in (0, 10):
                frames.append((read_rgb(root / f"JPEGImages/480p/{seq}/{t:05d}.jpg"),
                               read_mask(root / f"Annotations/480p/{seq}/{t:05d}.png") > 0))
    else:
        scene = demo_scene(854, 480, 10, seed=2)
        frames = [(img, lab == 1) for img, lab in (scene.render(t) for t in range(10))]
    folder = tmp / "latency-frames"
    folder.mkdir()
    for k, (img, _) in enumerate(frames):
        cv2.imwrite(str(folder / f"{k:05d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    session = AnnotateSession(folder, tmp / "latency-project", engine="classical")
    try:
        session.project.add_object()
        first, correct, first_cpu, correct_cpu = [], [], [], []
        for k, (_, gt) in enumerate(frames):
            session.frames.image(k)  # decoded already: only the click is timed
            x, y = interior_point(gt)
            t0, c0 = time.perf_counter(), time.process_time()
            session.click(k, 1, x, y, True)
            first.append(1000 * (time.perf_counter() - t0))
            first_cpu.append(1000 * (time.process_time() - c0))
            err = correction_click(gt, session.project.mask(k) == 1)
            if err is not None:
                t0, c0 = time.perf_counter(), time.process_time()
                session.click(k, 1, err[0], err[1], err[2])
                correct.append(1000 * (time.perf_counter() - t0))
                correct_cpu.append(1000 * (time.process_time() - c0))
    finally:
        session.close()
    return {"first_median": statistics.median(first), "first_p90": _pct(first, 90),
            "first_cpu": statistics.median(first_cpu),
            "correct_median": statistics.median(correct) if correct else float("nan"),
            "correct_p90": _pct(correct, 90) if correct else float("nan"),
            "correct_cpu": statistics.median(correct_cpu) if correct_cpu else float("nan"),
            "clicks": len(first) + len(correct)}


# -- seek latency --------------------------------------------------------------------------------
def seek_latency(tmp: Path, frames: int = 300, gop: int = 60, seeks: int = 40) -> dict[str, float]:
    scene = demo_scene(854, 480, frames, seed=3)
    path = tmp / "seek.mp4"
    encode_clip((scene.render(t)[0] for t in range(frames)), path, audio=False, gop=gop)
    rng = np.random.default_rng(0)
    store = FrameStore(path, cache=1)
    times, cpu, steps = [], [], []
    try:
        for t in rng.integers(0, frames, seeks):
            t0, c0 = time.perf_counter(), time.process_time()
            store.jpeg(int(t))
            times.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
        for t in range(100, 140):  # the next frame (arrow key, playback)
            t0 = time.perf_counter()
            store.jpeg(t)
            steps.append(1000 * (time.perf_counter() - t0))
    finally:
        store.close()
    return {"median": statistics.median(times), "p90": _pct(times, 90), "max": max(times), "seeks": seeks,
            "cpu": statistics.median(cpu), "gop": gop, "next_median": statistics.median(steps[1:]),
            "next_p90": _pct(steps[1:], 90)}


# -- DAVIS interactive ----------------------------------------------------------------------------
def _scores(session: AnnotateSession, gts: list[np.ndarray]) -> tuple[float, float, list[float]]:
    js, fs = [], []
    for t, gt in enumerate(gts):
        pred = session.project.labels_or_empty(t) == 1
        js.append(jaccard(gt, pred))
        fs.append(f_measure(gt, pred))
    return float(np.mean(js)), float(np.mean(fs)), js


def _png(mask: np.ndarray) -> bytes:
    """A DAVIS palette PNG of ``mask`` (object 1), as a user would upload it."""
    buf = io.BytesIO()
    label_image(mask.astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def interactive(data: Path, seq: str, rounds: int, engine: str, tmp: Path, prime: int = 2,
                perfect: bool = False) -> dict[str, object]:
    """The rounds on ``seq``; ``perfect``: each round's correction is the worst frame's ground truth."""
    root = data / "davis2016-dev"
    gts = [read_mask(p) > 0 for p in sorted((root / "Annotations/480p" / seq).glob("*.png"))]
    session = AnnotateSession(root / "JPEGImages/480p" / seq, tmp / f"{seq}-{prime}-{perfect}.vidseg", engine=engine)
    session.propagator.prime = prime
    curve: list[float] = []
    j_curve: list[float] = []
    prop_fps: list[float] = []
    try:
        session.project.add_object()
        session.click(0, 1, *interior_point(gts[0]), True)
        for r in range(rounds + 1):
            if r > 0:
                _, _, js = _scores(session, gts)
                worst = int(np.argmin(js))
                if perfect:
                    session.set_mask(worst, _png(gts[worst]))
                else:
                    err = correction_click(gts[worst], session.project.labels_or_empty(worst) == 1)
                    if err is None:
                        curve.append(curve[-1])
                        j_curve.append(j_curve[-1])
                        continue
                    session.click(worst, 1, err[0], err[1], err[2])
            session.propagator.start("both")
            session.propagator.wait()
            job = session.propagator.job
            if job.error:
                raise RuntimeError(job.error)
            if job.done:
                prop_fps.append(job.fps)
            j, f, _ = _scores(session, gts)
            curve.append((j + f) / 2)
            j_curve.append(j)
    finally:
        session.close()
    return {"sequence": seq, "frames": len(gts), "jf": curve, "j": j_curve,
            "propagate_fps": float(np.mean(prop_fps)) if prop_fps else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("VIDSEG_DATA", "../shared/data"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--engine", default="default")
    ap.add_argument("--sequences", default=",".join(SEQUENCES))
    ap.add_argument("--prime", type=int, default=2,
                    help="user-set frames put in the engine's memory before each pass (the page's default: 2)")
    ap.add_argument("--skip-latency", action="store_true", help="only the DAVIS interactive measure")
    ap.add_argument("--no-ceiling", action="store_true",
                    help="skip the rounds with perfect corrections (the worst frame given its ground truth)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    data = Path(args.data)
    have = (data / "davis2016-dev").is_dir()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="vidseg-annotate-bench-") as t:
        tmp = Path(t)
        if not args.skip_latency:
            out["click"] = click_latency(data if have else None, tmp)
            out["seek"] = seek_latency(tmp)
        if have:
            out["interactive"] = [interactive(data, s, args.rounds, args.engine, tmp, args.prime)
                                  for s in args.sequences.split(",") if s]
            if not args.no_ceiling:
                out["ceiling"] = [interactive(data, s, args.rounds, args.engine, tmp, args.prime, perfect=True)
                                  for s in args.sequences.split(",") if s]
    lines = _markdown(out, have, args) if not args.skip_latency else [json.dumps(out.get("interactive"))]
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print("\n".join(lines) if args.markdown else json.dumps(out, indent=1))
    return 0


def _markdown(out: dict[str, object], have: bool, args: argparse.Namespace) -> list[str]:
    c, s = out["click"], out["seek"]
    assert isinstance(c, dict) and isinstance(s, dict)
    where = "davis2016-dev frames 0 and 10 of each sequence" if have else "synthetic frames (no ../shared/data)"
    lines = ["| measure (854x480) | median | p90 | CPU ms (median) | target |", "| --- | ---: | ---: | ---: | ---: |",
             f"| first click -> mask saved (ms) | {c['first_median']:.0f} | {c['first_p90']:.0f} | "
             f"{c['first_cpu']:.0f} | <= 300 |",
             f"| corrective click -> mask saved (ms) | {c['correct_median']:.0f} | {c['correct_p90']:.0f} | "
             f"{c['correct_cpu']:.0f} | <= 300 |",
             f"| seek to a random frame, decoded + JPEG (ms) | {s['median']:.0f} | {s['p90']:.0f} | "
             f"{s['cpu']:.0f} | <= 100 |",
             f"| step to the next frame, decoded + JPEG (ms) | {s['next_median']:.0f} | {s['next_p90']:.0f} | | |",
             f"(clicks on {where}; seeks: {s['seeks']} random frames of a 300-frame H.264 clip, a keyframe "
             f"every {s['gop']} frames, cold cache)"]
    inter = out.get("interactive")
    if not have or not isinstance(inter, list):
        lines += ["", "DAVIS interactive measure skipped: no davis2016-dev under --data "
                      f"({args.data}); pass --data /path/to/shared/data."]
        return lines
    rounds = len(inter[0]["jf"])
    head = ["Sequence", "Frames", "1 click"] + [f"+{r} round{'s' if r > 1 else ''}" for r in range(1, rounds)]
    lines += ["", f"DAVIS interactive measure on davis2016-dev (J&F over every frame; engine `{args.engine}`; "
                  "1 click on frame 0 + propagate, then rounds of 1 corrective click on the worst frame + "
                  "re-propagate):", "", *_curve_table(head, inter, fps=True)]
    lines.append(f"(targets: 1 click >= 0.60, after 5 rounds >= 0.85; propagate fps: the job's frames per "
                 f"second, reading JPEGs, tracking and saving each mask as a PNG; {os.cpu_count()} CPUs, shared)")
    ceiling = out.get("ceiling")
    if isinstance(ceiling, list) and ceiling:
        lines += ["", "The engine's ceiling: the same rounds with a perfect correction in place of each click "
                      "(the worst frame given its ground-truth mask), the same propagation:", "",
                  *_curve_table(head, ceiling, fps=False)]
    return lines


def _curve_table(head: list[str], rows: list[dict[str, Any]], fps: bool) -> list[str]:
    """A markdown table of J&F per round for each sequence and their mean (and the propagation fps)."""
    tail = (" | propagate fps |", " | ---: |") if fps else (" |", " |")
    lines = ["| " + " | ".join(head) + tail[0], "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + tail[1]]
    for row in rows:
        lines.append(f"| {row['sequence']} | {row['frames']} | " + " | ".join(f"{v:.3f}" for v in row["jf"])
                     + (f" | {row['propagate_fps']:.1f} |" if fps else " |"))
    mean = np.mean([row["jf"] for row in rows], axis=0)
    lines.append("| **mean** | **{}** | ".format(sum(int(r["frames"]) for r in rows))
                 + " | ".join(f"**{v:.3f}**" for v in mean)
                 + (f" | {np.mean([r['propagate_fps'] for r in rows]):.1f} |" if fps else " |"))
    return lines


if __name__ == "__main__":
    sys.exit(main())
