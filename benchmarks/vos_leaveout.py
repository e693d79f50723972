"""Leave-out estimate of how the shipped learned engine does on video it has never seen: the
DAVIS-2016 train sequences its training run left out (``training_data.holdout`` in its model
card), tracked from their first mask and scored with the DAVIS measures, next to the classical
engine on the same sequences. Skips, saying why, without ../shared/data or a holdout.
``--weights RUN/engine`` scores another trained engine on its own card's holdout instead (a
second fold: ``vidseg train-engine ... --holdout OTHER,SEQS -o RUN``).

    python benchmarks/vos_leaveout.py [--engines default,accurate,classical] [--weights DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vidseg.eval.bench import make_engine_factory, run_benchmark
from vidseg.eval.report import fmt, format_bench, format_table
from vidseg.vos.engines import LEARNED_ENGINES
from vidseg.vos.learned.weights import read_card, shipped_weights_dir

DAVIS_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-train"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DAVIS_TRAIN, help="the DAVIS-layout training set")
    ap.add_argument("--engines", default="default,accurate,classical", help="comma-separated engines")
    ap.add_argument("--weights", type=Path, default=None,
                    help="a trained engine's folder (RUN/engine) to score instead of the shipped one")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    weights = args.weights or shipped_weights_dir()
    holdout = read_card(weights).get("training_data", {}).get("holdout", [])
    if not args.root.is_dir():
        print(f"skipped: {args.root} is absent (DAVIS-2016 train data)", file=sys.stderr)
        return 0
    if not holdout:
        print(f"skipped: the engine in {weights} was trained on every train sequence (no holdout)", file=sys.stderr)
        return 0
    summary, details = [], []
    for engine in [e for e in args.engines.split(",") if e]:
        mine = args.weights is not None and engine in LEARNED_ENGINES
        factory = make_engine_factory(engine, str(args.weights) if mine else None)
        res = run_benchmark(args.root, engine=engine, sequences=holdout, engine_factory=factory)
        m = res.mean()
        summary.append([engine, fmt(m["J"]), fmt(m["F"]), fmt(m["J&F"]), fmt(m["flicker"]), fmt(m["fps"], 1)])
        details.append(f"\n#### engine: {engine}\n" if args.markdown else f"\nengine: {engine}")
        details.append(format_bench(res, markdown=args.markdown))
    whose = "the shipped engine's" if args.weights is None else f"the training of {args.weights}"
    print(f"Sequences left out of {whose}: {', '.join(holdout)} (427x240)\n")
    print(format_table(["Engine", "J", "F", "J&F", "Flicker", "FPS"], summary, markdown=args.markdown))
    print("\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
