"""`vidseg batch track` throughput: one worker, the local pool and Ray, on 20 clips at 854x480.

The clips are the 5 davis2016-dev sequences (frame folders, the first mask as prompt) and 15
generated ones (854x480 H.264, the synthetic demo scene with its exact first mask), listed in one
manifest. Each mode runs the whole batch through the command line, in its own process, into a
fresh output folder:

* ``single``: ``--workers 1``: one process, one thread per op, pinned to one core (the issue's
  single-process figure "where the single process uses one core": unpinned, its decoding and
  writing threads would borrow the second core);
* ``pool``: ``--workers N`` (default: the cores), one thread per op in each;
* ``ray``: ``--ray`` (a local Ray instance with N CPUs, started and stopped by the command).

Reported: frames per second over the batch's wall time (start included) and after the start, the
speed-up over ``single``, the CPU time per frame inside the workers (all their threads; it moves
less with other load than wall time does), and the overheads from the summary JSON: start (planning, workers up and
models loaded; for Ray the instance's start too), model load per worker, scheduling per video
(hand-over to result back, less the job's own time). Peak RSS is the largest process of the
batch's tree (Ray's workers are not in it). On a shared machine the figures move with the load.

    python benchmarks/batch_throughput.py [--data ../shared/data] [--engine fast] [--repeats 3] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("VIDSEG_DATA", HERE.parent.parent / "shared" / "data"))
RESULT = HERE / "results" / "batch_throughput.md"


def make_clips(work: Path, davis: Path, generated: int, frames: int) -> Path:
    """The manifest of the DAVIS sequences and ``generated`` synthetic 854x480 clips."""
    from vidseg.eval.bench import dataset_dirs
    from vidseg.eval.dataset import list_masks
    from vidseg.io.palette import write_mask
    from vidseg.synthetic import demo_scene, encode_clip

    images, annotations = dataset_dirs(davis)
    rows = [{"input": str(seq), "prompt": str(list_masks(annotations / seq.name)[0])}
            for seq in sorted(p for p in images.iterdir() if p.is_dir())]
    for k in range(generated):
        scene = demo_scene(854, 480, frames, seed=k)
        clip = work / f"synthetic{k:02d}.mp4"

        encode_clip((scene.render(t)[0] for t in range(frames)), clip, audio=False, preset="veryfast")
        write_mask(work / f"synthetic{k:02d}.png", scene.render(0)[1])
        rows.append({"input": str(clip), "prompt": str(work / f"synthetic{k:02d}.png")})
    manifest = work / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def run_mode(manifest: Path, out: Path, engine: str, extra: list[str], cores: int | None = None) -> dict[str, float]:
    """One batch through the command line, in a child process (on its first ``cores`` cores when
    given); the figures of its summary."""
    summary = out.parent / f"{out.name}.json"
    cmd = [sys.executable, "-m", "vidseg", "batch", "track", str(manifest), "-o", str(out), "-e", engine,
           "-q", "--json", str(summary), *extra]
    t0 = time.perf_counter()
    allowed = sorted(os.sched_getaffinity(0))
    pin = set(allowed[:cores]) if cores else None
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    data = json.loads(summary.read_text())
    totals, over = data["totals"], data["overhead"]
    return {"videos": totals["videos"], "frames": totals["frames_this_run"], "wall": wall,
            "start": over["start_s"], "load": over["model_load_s"], "scheduling": over["scheduling_s"],
            "cpu_ms": over["cpu_ms_per_frame"],
            "rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def child(args: argparse.Namespace) -> int:
    """Run one mode (a separate process so that its peak RSS is its own) and print its figures."""
    extra = json.loads(args.child_extra)
    cores = 1 if extra[:2] == ["--workers", "1"] else None
    print(json.dumps(run_mode(Path(args.child_manifest), Path(args.child_out), args.engine, extra, cores)))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder (holds davis2016-dev)")
    ap.add_argument("--engine", default="fast", help="tracking engine (default fast)")
    ap.add_argument("--workers", type=int, default=None, help="pool and Ray workers (default: the cores)")
    ap.add_argument("--generated", type=int, default=15, help="synthetic clips added to the 5 DAVIS ones")
    ap.add_argument("--frames", type=int, default=40, help="frames per synthetic clip")
    ap.add_argument("--modes", default="single,pool,ray", help="comma-separated: single, pool, ray")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of every mode, interleaved; the table shows each mode's median run")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table (always written to results/)")
    ap.add_argument("--child-manifest", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    ap.add_argument("--child-extra", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_manifest:
        return child(args)
    davis = args.data / "davis2016-dev"
    if not davis.is_dir():
        print(f"skipped: {davis} is absent (DAVIS-2016 dev data; give --data or VIDSEG_DATA)", file=sys.stderr)
        return 0
    from vidseg.batch.local import default_workers

    workers = args.workers or default_workers()
    modes = {"single": ["--workers", "1"], "pool": ["--workers", str(workers)],
             "ray": ["--ray", "--workers", str(workers)]}
    chosen = [m for m in args.modes.split(",") if m]
    if "ray" in chosen:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray mode skipped: Ray is not installed (pip install 'vidseg[ray]')", file=sys.stderr)
            chosen.remove("ray")
    work = Path(tempfile.mkdtemp(prefix="vidseg-batch-bench-"))
    try:
        print(f"making {5 + args.generated} clips in {work} ...", file=sys.stderr, flush=True)
        manifest = make_clips(work, davis, args.generated, args.frames)
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in chosen}
        for rep in range(max(1, args.repeats)):  # interleaved, so a slow spell of the machine hits every mode
            for mode in chosen:
                print(f"== {mode} (run {rep + 1}) ...", file=sys.stderr, flush=True)
                out = work / f"out-{mode}-{rep}"
                proc = subprocess.run([sys.executable, __file__, "--engine", args.engine, "--child-manifest",
                                       str(manifest), "--child-out", str(out),
                                       "--child-extra", json.dumps(modes[mode])], capture_output=True, text=True,
                                      check=True)
                runs[mode].append(json.loads(proc.stdout.strip().splitlines()[-1]))
                shutil.rmtree(out, ignore_errors=True)
        results = {m: median_run(r) for m, r in runs.items()}
        spread = {m: [x["frames"] / x["wall"] for x in r] for m, r in runs.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = format_table(results, workers, args.engine)
    table += "\n\nEvery run's FPS: " + "; ".join(
        f"{m} " + ", ".join(f"{v:.1f}" for v in fps) for m, fps in spread.items())
    print(table)
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(table + "\n")
    return 0


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median frames per second (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["frames"] / r["wall"])
    return ordered[(len(ordered) - 1) // 2]


def format_table(results: dict[str, dict[str, float]], workers: int, engine: str) -> str:
    single = results.get("single")
    base = single["frames"] / single["wall"] if single else None
    head = ("| Mode | Workers | Videos | Frames | Wall (s) | FPS | FPS after start | x single | CPU ms/frame "
            "| Start (s) | Model load (s/worker) | Scheduling (s/video) | Peak RSS (MiB) |")
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode, r in results.items():
        fps = r["frames"] / r["wall"]
        after = r["frames"] / max(1e-9, r["wall"] - r["start"])
        ratio = f"{fps / base:.2f}" if base else "n/a"
        rss = "n/a" if mode == "ray" else f"{r['rss_mib']:.0f}"
        lines.append(f"| {mode} | {1 if mode == 'single' else workers} | {r['videos']:.0f} | {r['frames']:.0f} "
                     f"| {r['wall']:.1f} | {fps:.1f} | {after:.1f} | {ratio} | {r['cpu_ms']:.0f} | {r['start']:.1f} "
                     f"| {r['load']:.2f} "
                     f"| {r['scheduling']:.2f} | {rss} |")
    lines.append(f"(`vidseg batch track -e {engine}`: 5 davis2016-dev sequences + generated 854x480 clips; "
                 "wall time of the whole command; one thread per op in every worker; `single` pinned to one core; Ray's wall time includes "
                 "starting and stopping a local instance; peak RSS: the largest process of the batch's tree)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
