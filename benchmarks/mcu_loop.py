"""The seed's loop on real footage, per davis2016-dev sequence: "annotations" made by tracking the
first ground-truth mask through the video (vidseg.vos, the `fast` engine), a teacher trained on
those of the first 60% of the frames (`vidseg train`), a student distilled on all frames
(`vidseg distil`, 320x240 grayscale, from the teacher's labels alone), exported to int8 (`vidseg export`, checked in TFLM); the
teacher, the student and the int8 student scored against the real ground truth of the last 40%
(IoU at 854x480, probabilities upsampled bilinearly). Also: flash, measured TFLM arena, the int8
student's fps on one core with LiteRT, and the training times.

    python benchmarks/mcu_loop.py [--data ../shared/data] [--sequences a,b] [--teacher-epochs 8]
        [--teacher-steps 25] [--teacher-batch 8] [--student-epochs 15] [--student-steps 40]
        [--student-batch 16] [--markdown]

The defaults suit sequences of 40-90 frames on an idle 2-core machine (tens of minutes for all
five); pass smaller budgets on a busy machine (the table says which were used). Skips, saying
why, without the data.
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

from vidseg.eval.metrics import jaccard
from vidseg.io.palette import read_mask, write_mask
from vidseg.io.reader import open_video

TARGETS = ("int8 >= 0.9 x teacher; int8 >= 0.97 x float student; flash <= 256 KB; arena <= 512 KB; "
           ">= 100 fps (1 core, LiteRT)")


def track_annotations(frames: Path, first: Path, out: Path) -> int:
    """Propagate the first mask through the sequence with the fast engine; PNGs into ``out``."""
    from vidseg.vos import TrackingSession

    out.mkdir(parents=True, exist_ok=True)
    n = 0
    with open_video(frames) as video:
        session = TrackingSession(video, "fast")
        session.add_mask(0, read_mask(first))
        for frame, labels in session.propagate(direction="forward"):
            write_mask(out / f"{frame.stem}.png", labels)
            n += 1
    return n


def probabilities(model_path: Path, images: list[np.ndarray]) -> list[np.ndarray]:
    """Foreground probability per frame (model resolution) from any vidseg-runnable model."""
    from vidseg.models import load_model
    from vidseg.segment.semantic import class_maps, crop_padding, foreground_probability

    model = load_model(str(model_path), threads=1)
    out = []
    for img in images:
        outs, lb = model.run(img)
        out.append(foreground_probability(crop_padding(class_maps(outs[0], model.card), lb, model.card), model.card))
    return out


def score(probs: list[np.ndarray], gts: list[np.ndarray]) -> float:
    vals = []
    for p, g in zip(probs, gts, strict=True):
        big = cv2.resize(p, (g.shape[1], g.shape[0]), interpolation=cv2.INTER_LINEAR) > 0.5
        vals.append(jaccard(g > 0, big))
    return float(np.mean(vals))


def fps_litert(model: Path, runs: int = 200) -> float:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(model), num_threads=1)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    x = np.zeros(d["shape"], d["dtype"])
    for _ in range(10):
        it.set_tensor(d["index"], x)
        it.invoke()
    t0 = time.perf_counter()
    for _ in range(runs):
        it.set_tensor(d["index"], x)
        it.invoke()
    return runs / (time.perf_counter() - t0)


def run_sequence(root: Path, seq: str, work: Path, ns: argparse.Namespace) -> dict:
    from vidseg.export.job import export_model
    from vidseg.train.distil import DistilConfig, distil
    from vidseg.train.loop import FitConfig
    from vidseg.train.trainer import TrainConfig, train_teacher

    frames = root / "JPEGImages" / "480p" / seq
    gt_dir = root / "Annotations" / "480p" / seq
    gt_files = sorted(gt_dir.glob("*.png"))
    n = len(gt_files)
    cut = int(round(n * 0.6))
    t0 = time.perf_counter()
    tracked = work / seq / "tracked"
    track_annotations(frames, gt_files[0], tracked)
    annotated = work / seq / "annotated"  # the "annotations": tracked masks of the first 60%
    annotated.mkdir()
    for f in sorted(tracked.glob("*.png"))[:cut]:
        os.link(f, annotated / f.name)
    t_track = time.perf_counter() - t0
    teacher_run = work / seq / "teacher"
    t0 = time.perf_counter()
    tcfg = TrainConfig(str(frames), str(annotated), fit=FitConfig(epochs=ns.teacher_epochs, batch=ns.teacher_batch,
                                                steps_per_epoch=ns.teacher_steps, lr=ns.teacher_lr,
                                                threads=ns.threads))
    for _ in train_teacher(tcfg, teacher_run):
        pass
    t_teacher = time.perf_counter() - t0
    student_run = work / seq / "student"
    t0 = time.perf_counter()
    dcfg = DistilConfig(str(teacher_run / "model.onnx"), [str(frames)], val_fraction=0.0,
                        fit=FitConfig(epochs=ns.student_epochs, batch=ns.student_batch,
                                      steps_per_epoch=ns.student_steps, lr=ns.student_lr, threads=ns.threads))
    for _ in distil(dcfg, student_run):
        pass
    t_student = time.perf_counter() - t0
    out = work / seq / "int8"
    t0 = time.perf_counter()
    rep = export_model(student_run, "tflite-int8", out, calib=[str(frames)])
    t_export = time.perf_counter() - t0
    test = list(range(cut, n))
    images = [cv2.cvtColor(cv2.imread(str(frames / f"{gt_files[i].stem}.jpg")), cv2.COLOR_BGR2RGB) for i in test]
    gts = [read_mask(gt_files[i]) for i in test]
    res = {
        "sequence": seq, "frames": n, "test_frames": len(test),
        "teacher_iou": score(probabilities(teacher_run / "model.onnx", images), gts),
        "student_iou": score(probabilities(student_run / "model.onnx", images), gts),
        "int8_iou": score(probabilities(out / "model_int8.tflite", images), gts),
        "tracked_iou": score([read_mask(tracked / f"{gt_files[i].stem}.png").astype(np.float32) for i in test], gts),
        "flash_bytes": rep["flash_bytes"], "arena_bytes": rep["arena_bytes"], "macs": rep["macs"],
        "latency_ms": rep["latency_ms"], "fps_int8_litert_1core": fps_litert(out / "model_int8.tflite"),
        "seconds": {"track": round(t_track, 1), "teacher": round(t_teacher, 1), "student": round(t_student, 1),
                    "export": round(t_export, 1)},
    }
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("VIDSEG_DATA", "../shared/data")))
    ap.add_argument("--sequences", default=None)
    ap.add_argument("--teacher-epochs", type=int, default=8)
    ap.add_argument("--teacher-steps", type=int, default=25)
    ap.add_argument("--teacher-batch", type=int, default=8)
    ap.add_argument("--student-epochs", type=int, default=15)
    ap.add_argument("--student-steps", type=int, default=40)
    ap.add_argument("--student-batch", type=int, default=16)
    ap.add_argument("--teacher-lr", type=float, default=1e-3)
    ap.add_argument("--student-lr", type=float, default=1e-2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", action="store_true")
    ns = ap.parse_args(argv)
    root = ns.data / "davis2016-dev"
    if not root.is_dir():
        print(f"skipped: {root} is absent (DAVIS-2016 dev data; pass --data or set VIDSEG_DATA)", file=sys.stderr)
        return 0
    seqs = ns.sequences.split(",") if ns.sequences else sorted(p.name for p in (root / "JPEGImages" / "480p").iterdir())
    rows = []
    with tempfile.TemporaryDirectory(prefix="vidseg-mcu-") as tmp:
        for seq in seqs:
            print(f"{seq} ...", file=sys.stderr, flush=True)
            rows.append(run_sequence(root, seq, Path(tmp), ns))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if ns.json:
        ns.json.write_text(json.dumps(rows, indent=1))
    head = ("| Sequence | Frames | Tracked | Teacher | Student | Int8 | Int8/teacher | Int8/float | Flash KB | "
            "Arena KB | Int8 fps | Train teacher s | Distil s |")
    lines = [head, "|" + " --- |" * 13]
    for r in rows:
        lines.append(f"| {r['sequence']} | {r['frames']} | {r['tracked_iou']:.3f} | {r['teacher_iou']:.3f} | "
                     f"{r['student_iou']:.3f} | {r['int8_iou']:.3f} | {r['int8_iou'] / max(r['teacher_iou'], 1e-9):.3f} | "
                     f"{r['int8_iou'] / max(r['student_iou'], 1e-9):.3f} | {r['flash_bytes'] / 1024:.1f} | "
                     f"{r['arena_bytes'] / 1024:.1f} | {r['fps_int8_litert_1core']:.0f} | {r['seconds']['teacher']:.0f} | "
                     f"{r['seconds']['student']:.0f} |")
    m = {k: float(np.mean([r[k] for r in rows])) for k in ("tracked_iou", "teacher_iou", "student_iou", "int8_iou")}
    lines.append(f"| **mean** | {sum(r['frames'] for r in rows)} | {m['tracked_iou']:.3f} | {m['teacher_iou']:.3f} | "
                 f"{m['student_iou']:.3f} | {m['int8_iou']:.3f} | {m['int8_iou'] / max(m['teacher_iou'], 1e-9):.3f} | "
                 f"{m['int8_iou'] / max(m['student_iou'], 1e-9):.3f} | | | | | |")
    r0 = rows[0]
    lines += ["", f"IoU on the last 40% of each sequence against the real ground truth (854x480). Tracked: the "
              f"propagated \"annotations\" themselves. Budget: teacher {ns.teacher_epochs} epochs x "
              f"{ns.teacher_steps} steps x {ns.teacher_batch} frames (lr {ns.teacher_lr:g}, frozen backbone), student "
              f"{ns.student_epochs} x {ns.student_steps} x {ns.student_batch} (lr {ns.student_lr:g}), {ns.threads} threads. Student: 320x240 grayscale in, "
              f"{r0['macs'] / 1e6:.1f} M MACs, est. {r0['latency_ms']:.0f} ms on a Cortex-M7 @ 480 MHz at 2 cycles/MAC. "
              f"Targets: {TARGETS}."]
    text = "\n".join(lines)
    print(text if ns.markdown else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
