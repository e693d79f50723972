"""Check `vidseg eval` against the official davis2017-evaluation code on your own data.

Needs a checkout of https://github.com/davisvideochallenge/davis2017-evaluation (and its
requirement scikit-image) - neither is a vidseg dependency - and a DAVIS root laid out as the
official code expects (JPEGImages/480p, Annotations/480p or Annotations_unsupervised/480p,
ImageSets/2017/<set>.txt). Prints both sets of dataset figures and the largest difference.

    python benchmarks/eval_vs_official.py --official PATH --root DAVIS --results RESULTS
        [--task semi-supervised|unsupervised] [--set val] [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from vidseg.eval.davis import MEASURES, evaluate
from vidseg.eval.report import format_table


def official_figures(official: Path, root: Path, results: Path, task: str, subset: str) -> dict[str, float]:
    sys.path.insert(0, str(official))
    if not hasattr(np, "bool"):
        np.bool = bool  # type: ignore[attr-defined]  # the official code predates numpy 1.24
    from davis2017.evaluation import DAVISEvaluation  # type: ignore[import-not-found]

    res = DAVISEvaluation(str(root), task, subset).evaluate(str(results))
    j, f = res["J"], res["F"]
    jm, fm = float(np.mean(j["M"])), float(np.mean(f["M"]))
    return {"J&F": (jm + fm) / 2, "J": jm, "J-recall": float(np.mean(j["R"])),
            "J-decay": float(np.mean(j["D"])), "F": fm, "F-recall": float(np.mean(f["R"])),
            "F-decay": float(np.mean(f["D"]))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", type=Path, required=True, help="davis2017-evaluation checkout")
    ap.add_argument("--root", type=Path, required=True, help="DAVIS root")
    ap.add_argument("--results", type=Path, required=True, help="RESULTS/<seq>/<frame>.png")
    ap.add_argument("--task", default="semi-supervised", choices=["semi-supervised", "unsupervised"])
    ap.add_argument("--set", default="val", help="ImageSets/2017/<set>.txt lists the sequences")
    ap.add_argument("--json", type=Path, help="write both sets of figures as JSON")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)
    names = (args.root / "ImageSets" / "2017" / f"{args.set}.txt").read_text().split()
    t0 = time.perf_counter()
    theirs = official_figures(args.official, args.root, args.results, args.task, args.set)
    t1 = time.perf_counter()
    ours = evaluate(args.root, args.results, sequences=names, task=args.task).mean()
    t2 = time.perf_counter()
    diff = max(abs(ours[k] - theirs[k]) for k in MEASURES)
    rows = [["official", *(f"{theirs[k]:.6f}" for k in MEASURES), f"{t1 - t0:.2f}"],
            ["vidseg", *(f"{ours[k]:.6f}" for k in MEASURES), f"{t2 - t1:.2f}"]]
    print(format_table(["Code", *MEASURES, "Seconds"], rows, markdown=args.markdown))
    print(f"largest difference: {diff:.3g}")
    if args.json:
        args.json.write_text(json.dumps({"official": theirs, "vidseg": ours, "max_diff": diff}, indent=2))
    return 0 if diff <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
