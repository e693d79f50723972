"""Per-frame model segmentation: end-to-end speed and flicker (`vidseg segment`).

End to end means what `vidseg segment VIDEO --model M --overlay OUT.mp4` does: decode an H.264
854x480 clip, run the model, draw the overlay and encode it (x264 superfast, the default, with the
source's timestamps), decode, inference and encode overlapped in threads. The clip is ../shared/data/real-clips/bedroom resized
to 854x480 (or a synthetic clip when that folder is absent). Rows:

* the built-in selfie model (MediaPipe selfie segmenter, LiteRT), 1 thread per op; also with
  2 threads per op, and with temporal smoothing (the full-body `person` model: segment_person.py);
* a user-supplied ONNX semantic model of ~1 M parameters at 320x240 input (MobileNet-like, random
  weights, built here with onnx.helper), 21 classes;
* flicker with and without flow-aligned smoothing: on DAVIS dance-twirl (a person, ground truth:
  the flicker measure of `vidseg.eval.temporal.flicker` and J), and the ground-truth-free
  temporal consistency (flow-warped IoU between consecutive masks) on the bedroom clip.

Usage: python benchmarks/segment_speed.py [--frames N] [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def make_clip(path: Path, frames: int) -> str:
    """An 854x480 H.264 clip: the bedroom footage resized, else a synthetic scene."""
    import cv2

    from vidseg.synthetic import encode_clip

    src = sorted((SHARED / "real-clips" / "bedroom").glob("*.jpg"))
    if src:
        images = (cv2.cvtColor(cv2.resize(cv2.imread(str(p)), (854, 480), interpolation=cv2.INTER_AREA),
                               cv2.COLOR_BGR2RGB) for p in src[:frames])
        what = f"real-clips/bedroom ({min(frames, len(src))} frames, 960x540 -> 854x480)"
    else:
        from vidseg.synthetic import demo_scene

        scene = demo_scene(854, 480, frames)
        images = (scene.render(t)[0] for t in range(frames))
        what = f"synthetic demo scene ({frames} frames, 854x480; ../shared/data absent)"
    encode_clip(images, path, fps=Fraction(30), audio=False, crf=20)
    return what


def end_to_end(clip: Path, model_name: str, out: Path, *, threads: int = 1, smooth: bool = False,
               preset: str = "superfast") -> dict[str, Any]:
    from vidseg.models.model import load_model
    from vidseg.segment.job import Outputs, segment_video
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    t0 = time.perf_counter()
    model = load_model(model_name, threads=threads, download_ok=False)
    load_s = time.perf_counter() - t0
    seg = Segmenter(model, SegmentOptions(smooth=smooth))
    cpu0 = _cpu_seconds()
    rep = segment_video(clip, seg, Outputs(overlay=out, force=True, encode_preset=preset))
    cpu_ms = 1000 * (_cpu_seconds() - cpu0) / max(1, rep.frames)
    return {"frames": rep.frames, "seconds": rep.seconds, "fps": rep.fps, "load_s": load_s,
            "ms_per_frame": 1000 * rep.seconds / max(1, rep.frames), "cpu_ms_per_frame": cpu_ms,
            "fps_bound_2_idle_cores": 2000 / cpu_ms if cpu_ms > 0 else float("nan")}


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process, all threads."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def stage_times(clip: Path, model_name: str, threads: int = 1) -> dict[str, float]:
    """Milliseconds per frame of each stage run alone (no overlap)."""
    from vidseg.io.overlay import draw_overlay
    from vidseg.io.reader import open_video
    from vidseg.io.writers import OverlayVideoWriter
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter

    seg = Segmenter(load_model(model_name, threads=threads, download_ok=False))
    t = time.perf_counter()
    with open_video(clip) as r:
        frames = list(r)
    dec = time.perf_counter() - t
    t = time.perf_counter()
    labels = [seg(f.image).labels for f in frames]
    inf = time.perf_counter() - t
    t = time.perf_counter()
    ovs = [draw_overlay(f.image, lab) for f, lab in zip(frames, labels, strict=True)]
    ov = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d, open_video(clip) as r:
        t = time.perf_counter()
        with OverlayVideoWriter(Path(d) / "o.mp4", source=r, preset="superfast") as w:
            for f, img in zip(frames, ovs, strict=True):
                w.write_frame(f, img)
        enc = time.perf_counter() - t
    n = len(frames)
    return {k: 1000 * v / n for k, v in (("decode", dec), ("infer", inf), ("overlay", ov), ("encode", enc))}


def instance_post_ms(n_frames: int = 50, instances: int = 10) -> dict[str, float]:
    """Milliseconds per frame of YOLO-seg post-processing (8400 anchors, 80 classes, 32 x 160x160
    prototypes, 640x640 letterbox, 854x480 frames) and of identity tracking, on random outputs
    with ``instances`` moving detections (no model run: a YOLO-seg model is not built in)."""
    from vidseg.models.card import ModelCard
    from vidseg.models.model import Letterbox
    from vidseg.segment.identity import IdentityTracker, instances_to_labels
    from vidseg.segment.instance import decode_yolo_seg

    rng = np.random.default_rng(0)
    anchors, nc, nm = 8400, 80, 32
    det = np.zeros((1, 4 + nc + nm, anchors), np.float32)
    det[0, 4:4 + nc] = rng.uniform(0, 0.2, (nc, anchors))
    det[0, 4 + nc:] = rng.normal(0, 1, (nm, anchors))
    det[0, 2:4] = rng.uniform(20, 120, (2, anchors))
    hot = rng.choice(anchors, instances, replace=False)
    det[0, 4, hot] = 0.9
    start = rng.uniform(100, 540, (2, instances))
    protos = rng.normal(0, 1, (1, nm, 160, 160)).astype(np.float32)
    card = ModelCard(name="yolo", task="instance", output="yolo-seg", input_size=(640, 640), resize="letterbox",
                     labels=tuple(f"c{i}" for i in range(nc)))
    s = 640 / 854
    lb = Letterbox(s, s, 0, (640 - round(480 * s)) // 2, 854, 480)
    img = rng.integers(0, 255, (480, 854, 3), np.uint8)
    tracker = IdentityTracker()
    t_dec = t_trk = 0.0
    for t in range(n_frames):
        det[0, 0, hot] = start[0] + 3 * t
        det[0, 1, hot] = start[1] + 2 * t
        t0 = time.perf_counter()
        inst = decode_yolo_seg([det, protos], card, lb)
        t1 = time.perf_counter()
        instances_to_labels(inst, tracker.update(inst, img))
        t_dec += t1 - t0
        t_trk += time.perf_counter() - t1
    return {"decode_ms": 1000 * t_dec / n_frames, "identity_ms": 1000 * t_trk / n_frames, "instances": instances}


def flicker_rows(model_name: str, max_frames: int) -> list[dict[str, Any]]:
    from vidseg.eval.metrics import jaccard
    from vidseg.eval.temporal import flicker, temporal_consistency
    from vidseg.io.palette import read_mask
    from vidseg.io.reader import open_video
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    rows = []
    seq = SHARED / "davis2016-dev"
    model = load_model(model_name, download_ok=False)
    if (seq / "JPEGImages/480p/dance-twirl").is_dir():
        with open_video(seq / "JPEGImages/480p/dance-twirl") as r:
            frames = [f.image for f in r][:max_frames]
        gts = [read_mask(p) > 0 for p in sorted((seq / "Annotations/480p/dance-twirl").glob("*.png"))][:len(frames)]
        for smooth in (False, True):
            seg = Segmenter(model, SegmentOptions(smooth=smooth))
            preds = [seg(img).labels > 0 for img in frames]
            rows.append({"data": f"DAVIS dance-twirl ({len(frames)} frames)", "smooth": smooth,
                         "flicker": flicker(gts, preds),
                         "J": float(np.mean([jaccard(g, p) for g, p in zip(gts[1:-1], preds[1:-1], strict=True)])),
                         "tc": float(np.mean(temporal_consistency(zip(frames, [p.astype(np.uint8) for p in preds],
                                                                      strict=True))[1]))})
    bed = SHARED / "real-clips" / "bedroom"
    if bed.is_dir():
        with open_video(bed) as r:
            frames = [f.image for f in r][:max_frames]
        for smooth in (False, True):
            seg = Segmenter(model, SegmentOptions(smooth=smooth))
            preds = [(seg(img).labels > 0).astype(np.uint8) for img in frames]
            tc = temporal_consistency(zip(frames, preds, strict=True))
            rows.append({"data": f"bedroom ({len(frames)} frames, no GT)", "smooth": smooth, "flicker": None,
                         "J": None, "tc": float(np.mean(tc[1])) if 1 in tc else float("nan")})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200, help="frames of the speed clip (default 200)")
    ap.add_argument("--flicker-frames", type=int, default=60, help="frames for the flicker rows (default 60)")
    ap.add_argument("--json", dest="json_out", default=None, help="also write the results as JSON here")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)

    from vidseg.models.fetch import cached_path
    from vidseg.models.registry import BUILTIN
    from vidseg.models.toy import mobile_segnet_onnx

    have_person = cached_path(BUILTIN["selfie"]).is_file()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "speed": [], "stages": {},
                               "flicker": []}
    with tempfile.TemporaryDirectory(prefix="vidseg-bench-") as d:
        tmp = Path(d)
        clip = tmp / "clip854x480.mp4"
        results["clip"] = make_clip(clip, args.frames)
        onnx_path, params, macs = mobile_segnet_onnx(tmp / "user-segnet.onnx", size=(320, 240), classes=21)
        results["user_model"] = {"params": params, "macs": macs, "input": "320x240", "classes": 21}
        user = str(onnx_path)
        runs: list[tuple[str, str, dict[str, Any]]] = []
        if have_person:  # warm-up: first loads of LiteRT/ORT/x264 are not what a user waits for per frame
            end_to_end(clip, "selfie", tmp / "overlay.mp4")
        if have_person:
            runs += [("selfie (LiteRT), 1 thread/op", "selfie", {}),
                     ("selfie, 1 thread/op, --smooth", "selfie", {"smooth": True}),
                     ("selfie, 2 threads/op", "selfie", {"threads": 2}),
                     ("selfie, --encode-preset veryfast", "selfie", {"preset": "veryfast"}),
                     ("selfie, --encode-preset ultrafast", "selfie", {"preset": "ultrafast"})]
        runs += [(f"user ONNX ({params / 1e6:.2f} M params, {macs / 1e6:.0f} M MACs, 320x240), 1 thread/op", user, {}),
                 ("user ONNX, 2 threads/op", user, {"threads": 2})]
        for label, name, kw in runs:
            r = end_to_end(clip, name, tmp / "overlay.mp4", **kw)
            results["speed"].append({"run": label, **r})
        if have_person:
            results["stages"]["selfie"] = stage_times(clip, "selfie")
        results["stages"]["user ONNX"] = stage_times(clip, user)
    results["instance_post"] = instance_post_ms()
    if have_person:
        results["flicker"] = flicker_rows("selfie", args.flicker_frames)
    else:
        print("note: the selfie model is not cached (vidseg models fetch selfie); its rows are skipped",
              file=sys.stderr)
    _print(results, args.markdown)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0


def _table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    w = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]
    return "\n".join("  ".join(x.ljust(n) for x, n in zip(r, w, strict=True)) for r in [headers, *rows])


def _print(res: dict[str, Any], markdown: bool) -> None:
    print(f"clip: {res['clip']}; {res['cpus']} CPUs, load average {res['load_average'][0]:.1f} at the start")
    print("\nEnd to end (decode + model + overlay + H.264 encode, overlapped), 854x480:")
    print(_table(["run", "frames", "fps", "ms/frame", "CPU ms/frame", "fps if 2 idle cores", "model load s"],
                 [[r["run"], str(r["frames"]), f"{r['fps']:.1f}", f"{r['ms_per_frame']:.1f}", f"{r['cpu_ms_per_frame']:.1f}",
                   f"{r['fps_bound_2_idle_cores']:.0f}", f"{r['load_s']:.2f}"] for r in res["speed"]], markdown))
    print("(CPU ms/frame counts every thread; 2000 / it bounds the fps two idle cores could give.)")
    print("\nStages alone, ms per frame:")
    print(_table(["model", "decode", "infer (+pre/post)", "overlay", "encode"],
                 [[k, *(f"{v[s]:.1f}" for s in ("decode", "infer", "overlay", "encode"))]
                  for k, v in res["stages"].items()], markdown))
    ip = res["instance_post"]
    print(f"\nYOLO-seg post-processing (8400 anchors, 80 classes, {ip['instances']} instances, 854x480 masks): "
          f"decode + NMS + masks {ip['decode_ms']:.1f} ms/frame, identity tracking {ip['identity_ms']:.1f} ms/frame")
    if res["flicker"]:
        print("\nFlicker (lower is steadier), J and temporal consistency (flow-warped IoU, higher is steadier):")
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(_table(["data", "smoothing", "flicker", "J", "temporal consistency"],
                     [[r["data"], "on" if r["smooth"] else "off", fmt(r["flicker"]), fmt(r["J"]), fmt(r["tc"])]
                      for r in res["flicker"]], markdown))


if __name__ == "__main__":
    sys.exit(main())
