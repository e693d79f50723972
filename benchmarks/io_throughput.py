"""Decode -> overlay -> encode throughput at 854x480 (target: >= 120 fps on 2 CPU cores).

Generates its own clip (the synthetic demo scene with audio), then times each stage alone and
the whole pipeline (PyAV decode to RGB, draw_overlay, OverlayVideoWriter libx264 veryfast with
the audio stream copied). Prints a table; --json OUT / --markdown.

    python benchmarks/io_throughput.py [--frames 300] [--size 854x480] [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _io_clip import make_clip, print_table, scene_cycle, write_json  # noqa: E402
from vidseg.io import OverlayVideoWriter, draw_overlay, open_video  # noqa: E402

TARGET_FPS = 120.0
RANDOM_READS = 40
GOP = 60  # keyframe interval of the generated clip (x264's default is 250)


def run(frames: int, width: int, height: int, workdir: Path) -> list[dict[str, object]]:
    images, labels = scene_cycle(width, height)
    clip = make_clip(workdir / "clip.mp4", frames, images, preset="veryfast", gop=GOP)
    results = []

    def stage(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        c0, t0 = os.times(), time.perf_counter()
        n = fn()
        dt, c1 = time.perf_counter() - t0, os.times()
        cpu = (c1.user - c0.user) + (c1.system - c0.system)
        results.append({"stage": name, "frames": n, "seconds": round(dt, 3), "fps": round(n / dt, 1),
                        "cpu_ms_per_frame": round(1000 * cpu / n, 2), "cpu_percent": round(100 * cpu / dt)})

    def decode() -> int:
        with open_video(clip) as r:
            return sum(1 for _ in r)

    with open_video(clip) as r:
        decoded = [f for _, f in zip(range(len(labels)), r, strict=False)]

    def overlay() -> int:
        for k in range(frames):
            draw_overlay(decoded[k % len(decoded)].image, labels[k % len(labels)])
        return frames

    def encode() -> int:
        with open_video(clip) as src, OverlayVideoWriter(workdir / "enc.mp4", source=src, force=True) as w:
            for f in src:  # decoding is counted here too; subtract via the decode row
                w.write_frame(f, images[f.index % len(images)])
        return frames

    def pipeline() -> int:
        n = 0
        with open_video(clip) as src, OverlayVideoWriter(workdir / "out.mp4", source=src, force=True) as w:
            for f in src:
                w.write_frame(f, draw_overlay(f.image, labels[f.index % len(labels)]))
                n += 1
        return n

    def open_only() -> int:
        open_video(clip).close()
        return frames

    def random_reads() -> int:
        rng = random.Random(0)
        with open_video(clip) as r:
            for i in (rng.randrange(frames) for _ in range(RANDOM_READS)):
                r.read(i)
        return RANDOM_READS

    stage("open (scan index)", open_only)
    stage(f"read(i), {RANDOM_READS} random i (GOP {GOP})", random_reads)
    stage("decode -> RGB", decode)
    stage("draw_overlay", overlay)
    stage("decode + encode (x264 veryfast, audio copy)", encode)
    stage("decode -> overlay -> encode", pipeline)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="frames in the generated clip")
    ap.add_argument("--size", default="854x480", help="WxH of the generated clip")
    ap.add_argument("--json", dest="json_out", default=None, help="also write the results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="vidseg-bench-") as d:
        results = run(a.frames, w, h, Path(d))
    rows = [[r["stage"], r["frames"], r["seconds"], r["fps"], r["cpu_ms_per_frame"], r["cpu_percent"]]
            for r in results]
    load = os.getloadavg()[0]
    title = (f"I/O throughput, {w}x{h}, {a.frames} frames, {os.cpu_count()} CPUs, load average {load:.1f} "
             f"(target pipeline >= {TARGET_FPS:.0f} fps)")
    print_table(title, ["stage", "frames", "seconds", "fps", "CPU ms/frame", "CPU %"], rows, markdown=a.markdown)
    full = float(results[-1]["fps"])  # type: ignore[arg-type]
    print(f"\npipeline: {full} fps -> {'PASS' if full >= TARGET_FPS else 'BELOW TARGET'}"
          + ("" if load < 1.5 else " (other processes are using the CPUs: timings are noisy)"))
    write_json(a.json_out, {"size": [w, h], "frames": a.frames, "target_fps": TARGET_FPS, "load_average": load,
                            "stages": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
