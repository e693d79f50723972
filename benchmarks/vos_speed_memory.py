"""Speed and memory of the tracking engines (``vidseg.vos``) on synthetic video.

* speed: frames per second of an engine's ``step`` alone (no decoding, no writing) on a 854x480
  synthetic clip with two objects, per engine name (``vidseg.vos.engines``), and the time to
  construct the engine (weights and backbone loaded);
* memory: peak RSS of a streaming ``TrackingSession`` over a short and a long synthetic clip
  (default 100 vs 10,000 frames): it must stay flat with video length.

Each measurement runs in its own subprocess so that peak RSS and warm caches do not mix. CPU
ms/frame (process time, all threads) is less sensitive than wall time to other load on the machine.

    python benchmarks/vos_speed_memory.py [--presets fast,default,accurate] [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from vidseg.synthetic import demo_scene


def _speed(preset: str, frames: int, width: int, height: int) -> dict[str, float]:
    from vidseg.vos.engines import make_tracker

    scene = demo_scene(width, height, frames, seed=1)
    rendered = [scene.render(t) for t in range(frames)]
    t0 = time.perf_counter()
    tracker = make_tracker(preset)
    load = time.perf_counter() - t0
    tracker.step(rendered[0][0], rendered[0][1])
    start, cpu = time.perf_counter(), time.process_time()
    for img, _ in rendered[1:]:
        tracker.step(img)
    dt, dcpu = time.perf_counter() - start, time.process_time() - cpu
    n = frames - 1
    return {"fps": n / dt, "ms_per_frame": 1000 * dt / n, "cpu_ms_per_frame": 1000 * dcpu / n,
            "load_s": load}


def _memory(preset: str, frames: int, width: int, height: int) -> dict[str, float]:
    import resource

    from vidseg.io.frames import Frame
    from vidseg.vos import TrackingSession

    scene = demo_scene(width, height, 120, seed=1)
    cache = [scene.render(t) for t in range(120)]  # the clip loops over these renders

    def frames_iter():
        for t in range(frames):
            k = t % 240
            yield Frame(index=t, time=t / 30, stem=f"{t:05d}", image=cache[k if k < 120 else 239 - k][0])

    session = TrackingSession(frames_iter(), preset)
    session.add_mask(0, cache[0][1])
    n = 0
    start = time.perf_counter()
    for _, labels in session.propagate():
        n += int(labels[0, 0] >= 0)
    dt = time.perf_counter() - start
    return {"frames": n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "fps": n / dt}


def _child(kind: str, preset: str, frames: int, width: int, height: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, preset, str(frames), str(width), str(height)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="fast,default,accurate",
                    help="comma-separated engine names (see vidseg.vos.engines)")
    ap.add_argument("--speed-frames", type=int, default=150, help="frames of the 854x480 speed clip")
    ap.add_argument("--short", type=int, default=100, help="frames of the short memory clip")
    ap.add_argument("--long", type=int, default=10_000, help="frames of the long memory clip")
    ap.add_argument("--memory-size", default="854x480", help="WxH of the memory clips")
    ap.add_argument("--memory-preset", default="default", help="engine name used for the memory runs")
    ap.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="also write the results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, preset, frames, w, h = args.child
        fn = _speed if kind == "speed" else _memory
        print(json.dumps(fn(preset, int(frames), int(w), int(h))))
        return 0

    mw, mh = (int(v) for v in args.memory_size.lower().split("x"))
    speed = {p: _child("speed", p, args.speed_frames, 854, 480) for p in args.presets.split(",")}
    memory = {n: _child("memory", args.memory_preset, n, mw, mh) for n in (args.short, args.long)}
    growth = memory[args.long]["peak_rss_mb"] - memory[args.short]["peak_rss_mb"]
    sep = " | " if args.markdown else "  "
    if args.markdown:
        print("| engine | engine fps (854x480) | ms/frame | CPU ms/frame | load s |\n"
              "| --- | --- | --- | --- | --- |")
    else:
        print(f"{'engine':18s}{sep}{'fps':>8s}{sep}{'ms/frame':>8s}{sep}{'CPU ms/frame':>12s}{sep}{'load s':>6s}")
    for p, r in speed.items():
        row = (f"{p:18s}{sep}{r['fps']:8.1f}{sep}{r['ms_per_frame']:8.1f}{sep}{r['cpu_ms_per_frame']:12.1f}"
               f"{sep}{r['load_s']:6.2f}")
        print(f"| {row} |" if args.markdown else row)
    print()
    if args.markdown:
        print(f"| frames ({args.memory_preset}, {mw}x{mh}) | peak RSS MB | fps |\n| --- | --- | --- |")
    else:
        print(f"{'frames':>10s}{sep}{'peak RSS MB':>11s}{sep}{'fps':>6s}")
    for n, r in memory.items():
        row = f"{n:10d}{sep}{r['peak_rss_mb']:11.1f}{sep}{r['fps']:6.1f}"
        print(f"| {row} |" if args.markdown else row)
    print(f"\nRSS growth {args.short} -> {args.long} frames: {growth:+.1f} MB (limit 50 MB)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"speed": speed, "memory": {str(k): v for k, v in memory.items()},
                       "rss_growth_mb": growth}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
