"""Leave-out estimate of how the shipped learned engine does on video it has never seen: the
DAVIS-2016 train sequences its training run left out (``training_data.holdout`` in its model
card), tracked from their first mask and scored with the DAVIS measures, next to the classical
engine on the same sequences. Skips, saying why, without ../shared/data or a holdout.

    python benchmarks/vos_leaveout.py [--engines default,accurate,classical] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vidseg.eval.bench import run_benchmark
from vidseg.eval.report import fmt, format_bench, format_table
from vidseg.vos.learned.weights import read_card, shipped_weights_dir

DAVIS_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DAVIS_TRAIN, help="the DAVIS-layout training set")
    ap.add_argument("--engines", default="default,accurate,classical", help="comma-separated engines")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    holdout = read_card(shipped_weights_dir()).get("training_data", {}).get("holdout", [])
    if not args.root.is_dir():
        print(f"skipped: {args.root} is absent (DAVIS-2016 train data)", file=sys.stderr)
        return 0
    if not holdout:
        print("skipped: the shipped engine was trained on every train sequence (no holdout)", file=sys.stderr)
        return 0
    summary, details = [], []
    for engine in [e for e in args.engines.split(",") if e]:
        res = run_benchmark(args.root, engine=engine, sequences=holdout)
        m = res.mean()
        summary.append([engine, fmt(m["J"]), fmt(m["F"]), fmt(m["J&F"]), fmt(m["flicker"]), fmt(m["fps"], 1)])
        details.append(f"\n#### engine: {engine}\n" if args.markdown else f"\nengine: {engine}")
        details.append(format_bench(res, markdown=args.markdown))
    print(f"Sequences left out of the shipped engine's training: {', '.join(holdout)} (427x240)\n")
    print(format_table(["Engine", "J", "F", "J&F", "Flicker", "FPS"], summary, markdown=args.markdown))
    print("\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
