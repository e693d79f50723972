"""Unsupervised video object segmentation (``vidseg track --auto``) on ../shared/data/davis2016-dev:
J, F and J&F with ``vidseg eval --task unsupervised``'s matching, end-to-end fps at 854x480
(first pass on key frames, tracking both ways, PNGs written) and the process's peak memory,
beside published anchors; and a leave-out estimate on the DAVIS-2016 train sequences the
shipped head's training left out (``training_data.holdout`` in its model card, 427x240), tracked
by an engine that never saw them either (the shipped one if its training left them out, else
``runs/foldN/engine`` from ``make folds``; skipped, saying why, without one).

Variants: ``full`` (the default: the learned head finds the object on key frames, the learned
engine carries it both ways), ``fused`` (the head's probability also averaged in on every frame,
and a lost object given back to the engine where the head sees it), ``motion`` (no learned
parts: camera-compensated motion finds the object, the classical engine carries it). Skips, saying
why, without the data.

    python benchmarks/vos_auto.py [--data DIR] [--variants full,fused,motion] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from vidseg.eval import evaluate
from vidseg.eval.report import fmt, format_table
from vidseg.io.reader import open_video
from vidseg.vos.auto import AutoConfig, auto_track_video
from vidseg.vos.auto.head import shipped_head_dir
from vidseg.vos.engines import LEARNED_ENGINES
from vidseg.vos.job import TrackOutputs
from vidseg.vos.learned.weights import read_card, shipped_weights_dir
from vos_leaveout import REPO, fold_weights, holdout_of

DATA = Path(os.environ.get("VIDSEG_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VARIANTS = {
    "full": AutoConfig(),
    "fused": AutoConfig(head_weight=0.5, refind=True),
    "motion": AutoConfig(cue="motion", engine="classical"),
}
ANCHORS = [("NLC (2014, motion, published)", "0.551"), ("FST (2013, motion, published)", "0.558"),
           ("ARP (2017, published)", "0.762")]


def engine_without(holdout: list[str]) -> Path | None:
    """A learned tracking engine trained without any of ``holdout``: the shipped one, else a fold of
    ``make folds`` (a leave-out estimate needs every learned part to have never seen the sequences)."""
    for weights in [shipped_weights_dir(), *fold_weights()]:
        if set(holdout) <= set(holdout_of(weights)):
            return weights
    return None


def run_variant(root: Path, res: str, config: AutoConfig, sequences: list[str] | None) -> dict:
    """Track every sequence, score it; per-sequence and mean figures."""
    images, annotations = root / "JPEGImages" / res, root / "Annotations" / res
    names = sequences or sorted(p.name for p in images.iterdir() if p.is_dir())
    frames, seconds = 0, 0.0
    with tempfile.TemporaryDirectory(prefix="vidseg-auto-") as tmp:
        fps = {}
        for name in names:
            t0 = time.perf_counter()
            with open_video(images / name) as reader:
                run = auto_track_video(reader, TrackOutputs(masks=Path(tmp) / name), config)
            dt = time.perf_counter() - t0
            frames, seconds = frames + run.frames, seconds + dt
            fps[name] = run.frames / dt
        result = evaluate(annotations, tmp, sequences=names, task="unsupervised")
    rows = {n: {**v, "fps": fps[n]} for n, v in result.sequences().items()}
    m = result.mean()
    return {"J": m["J"], "F": m["F"], "J&F": m["J&F"], "fps": frames / seconds, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder holding davis2016-dev and davis2016-train")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants")
    ap.add_argument("--sequences", default=None, help="comma-separated dev sequences (default: all)")
    ap.add_argument("--no-leaveout", action="store_true", help="skip the leave-out estimate")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    dev = args.data / "davis2016-dev"
    if not dev.is_dir():
        print(f"skipped: {dev} is absent (DAVIS-2016 dev data)", file=sys.stderr)
        return 0
    seqs = [s for s in args.sequences.split(",") if s] if args.sequences else None
    variants = [v for v in args.variants.split(",") if v]
    summary, details = [], []
    for name in variants:
        r = run_variant(dev, "480p", VARIANTS[name], seqs)
        summary.append([f"vidseg --auto ({name})", fmt(r["J"]), fmt(r["F"]), fmt(r["J&F"]), fmt(r["fps"], 1)])
        details.append([[name, s, fmt(v["J"]), fmt(v["F"]), fmt(v["fps"], 1)] for s, v in r["rows"].items()])
    summary += [[a, j, "", "", ""] for a, j in ANCHORS]
    print(format_table(["Method (davis2016-dev, 5 sequences)", "J", "F", "J&F", "FPS"], summary, markdown=args.markdown))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(fps end to end at 854x480: key-frame pass, tracking both ways, PNGs written; {os.cpu_count()} "
          f"CPUs, shared with other jobs while measured; peak RSS of the benchmark process {peak:.0f} MiB; "
          "published anchors are J means on all 20 DAVIS-2016 val sequences)\n")
    print(format_table(["Variant", "Sequence", "J", "F", "FPS"], [row for d in details for row in d],
                       markdown=args.markdown))
    holdout = read_card(shipped_head_dir()).get("training_data", {}).get("holdout", [])
    train = args.data / "davis2016-train"
    if args.no_leaveout or not holdout or not train.is_dir():
        why = "asked" if args.no_leaveout else ("no holdout in the head's card" if not holdout else f"{train} absent")
        print(f"\nleave-out estimate skipped ({why})", file=sys.stderr)
        return 0
    engine = engine_without(holdout)
    if engine is None:
        print("\nleave-out estimate skipped (no tracking engine trained without the head's held-out sequences; "
              "`make folds` trains one into runs/fold1)", file=sys.stderr)
        return 0
    rows = []
    for name in variants:
        config = VARIANTS[name]
        if config.engine in LEARNED_ENGINES:
            config = replace(config, engine_weights=str(engine))
        r = run_variant(train, "240p", config, holdout)
        rows.append([name, fmt(r["J"]), fmt(r["F"]), fmt(r["J&F"])])
    whose = "the shipped engine" if engine == shipped_weights_dir() else f"the engine in {engine.relative_to(REPO)}"
    print(f"\nLeave-out estimate: DAVIS-2016 train sequences left out of the head's training and of "
          f"{whose}'s ({', '.join(holdout)}; 427x240)\n")
    print(format_table(["Variant", "J", "F", "J&F"], rows, markdown=args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
