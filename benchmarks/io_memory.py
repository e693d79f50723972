"""Peak memory of decode -> overlay -> encode: a 10,000-frame vs a 100-frame 854x480 video.

Each run happens in a fresh subprocess that reports its peak RSS (ru_maxrss); streaming
means the long video must stay within 50 MB of the short one. The clips (synthetic scene,
H.264 + AAC) are generated once into --workdir and reused. Prints a table; --json / --markdown.

    python benchmarks/io_memory.py [--long 10000] [--short 100] [--workdir DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _io_clip import make_clip, print_table, scene_cycle, write_json  # noqa: E402

LIMIT_MB = 50.0


def child(clip: str, out: str) -> None:
    """The measured run: stream the clip through draw_overlay into an overlay video."""
    from vidseg.io import OverlayVideoWriter, draw_overlay, open_video

    h, w = 480, 854
    _, labels = scene_cycle(w, h)
    t0 = time.perf_counter()
    n = 0
    with open_video(clip) as src, OverlayVideoWriter(out, source=src, force=True) as wr:
        for f in src:
            wr.write_frame(f, draw_overlay(f.image, labels[f.index % len(labels)]))
            n += 1
    dt = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"frames": n, "seconds": round(dt, 2), "peak_rss_mb": round(peak_kb / 1024, 1)}))


def measure(clip: Path, workdir: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", str(clip), str(workdir / f"out-{clip.stem}.mp4")]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", type=int, default=10_000, help="frames of the long video")
    ap.add_argument("--short", type=int, default=100, help="frames of the short video")
    ap.add_argument("--workdir", default=None, help="where clips are generated and kept (default: a temp dir)")
    ap.add_argument("--json", dest="json_out", default=None, help="also write the results as JSON")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return 0
    tmp = None if a.workdir else tempfile.TemporaryDirectory(prefix="vidseg-mem-")
    workdir = Path(a.workdir or tmp.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    images, _ = scene_cycle(854, 480)
    results = []
    for n in (a.short, a.long):
        clip = workdir / f"clip-{n}.mp4"
        if not clip.exists():
            print(f"generating {clip} ({n} frames) ...", file=sys.stderr)
            make_clip(clip, n, images)
        r = measure(clip, workdir)
        r["fps"] = round(r["frames"] / r["seconds"], 1)
        results.append(r)
    if tmp is not None:
        tmp.cleanup()
    growth = results[1]["peak_rss_mb"] - results[0]["peak_rss_mb"]
    rows = [[r["frames"], r["peak_rss_mb"], r["seconds"], r["fps"]] for r in results]
    print_table(f"Peak RSS, decode -> overlay -> encode, 854x480, {os.cpu_count()} CPUs",
                ["frames", "peak RSS MB", "seconds", "fps"], rows, markdown=a.markdown)
    verdict = "PASS" if growth <= LIMIT_MB else "FAIL"
    print(f"\ngrowth {a.short} -> {a.long} frames: {growth:+.1f} MB (limit {LIMIT_MB:.0f} MB) -> {verdict}")
    write_json(a.json_out, {"runs": results, "growth_mb": round(growth, 1), "limit_mb": LIMIT_MB})
    return 0  # the verdict is in the output; run_all keeps a failing table too


if __name__ == "__main__":
    sys.exit(main())
