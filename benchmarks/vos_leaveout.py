"""Leave-out estimate of how the learned engine does on video it has never seen (cross-validation):
each fold is an engine trained with some DAVIS-2016 train sequences held out (``vidseg
train-engine ... --holdout SEQ,... -o RUN``; ``training_data.holdout`` in its card), scored on
exactly those, tracked from their first mask with the DAVIS measures. The estimate is the mean
over every held-out sequence of every fold, next to the classical engine on the same sequences.

``make folds`` trains three folds into ``runs/fold1..3`` (about 3 hours on 2 cores; the first
is the shipped engine's run); they are scored by default. Where no fold is found, the shipped
engine is scored on its own held-out sequences (one fold). Skips, saying why, without
../shared/data or a fold; an engine trained on every train sequence is refused (exit 2).

    python benchmarks/vos_leaveout.py [--engines default,accurate,classical] [--weights RUN/engine ...] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vidseg.eval.bench import BenchResult, make_engine_factory, run_benchmark
from vidseg.eval.davis import EvalResult
from vidseg.eval.report import BENCH_COLUMNS, fmt, format_table
from vidseg.vos.engines import LEARNED_ENGINES
from vidseg.vos.learned.weights import read_card, shipped_weights_dir

REPO = Path(__file__).resolve().parents[1]
DAVIS_TRAIN = REPO.parent / "shared" / "data" / "davis2016-train"


def holdout_of(weights: Path) -> list[str]:
    """The train sequences the engine in ``weights`` was trained without."""
    return list(read_card(weights).get("training_data", {}).get("holdout", []))


def fold_weights() -> list[Path]:
    """The engines ``make folds`` trained: ``runs/fold*/engine``."""
    return sorted(p.parent for p in (REPO / "runs").glob("fold*/engine/card.json"))


def default_folds() -> list[Path]:
    """``runs/fold*/engine`` (``make folds``), else the shipped engine if it was trained with a holdout."""
    folds = fold_weights()
    if not folds and holdout_of(shipped_weights_dir()):
        folds = [shipped_weights_dir()]
    return folds


def subset(res: BenchResult, sequences: list[str]) -> BenchResult:
    """``res`` restricted to ``sequences`` (their runs and their objects' scores)."""
    runs = {r.name: r for r in res.runs}
    objects = [o for o in res.evaluation.objects if o.sequence in sequences]
    return BenchResult(res.engine, [runs[s] for s in sequences], EvalResult(res.evaluation.task, objects),
                       None, res.memory)


def pool(results: list[BenchResult]) -> BenchResult:
    """Several results as one: every run and every object's scores."""
    first = results[0]
    objects = [o for r in results for o in r.evaluation.objects]
    return BenchResult(first.engine, [run for r in results for run in r.runs],
                       EvalResult(first.evaluation.task, objects), None, first.memory)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DAVIS_TRAIN, help="the DAVIS-layout training set")
    ap.add_argument("--engines", default="default,accurate,classical", help="comma-separated engines")
    ap.add_argument("--weights", type=Path, action="append", default=None, metavar="RUN/engine",
                    help="a fold: an engine trained with --holdout (repeatable; default: runs/fold*/engine)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    if not args.root.is_dir():
        print(f"skipped: {args.root} is absent (DAVIS-2016 train data)", file=sys.stderr)
        return 0
    folds = args.weights or default_folds()
    if not folds:
        print("skipped: no fold to score (the shipped engine was trained on every train sequence; "
              "`make folds` trains three into runs/fold1..3)", file=sys.stderr)
        return 0
    held = [holdout_of(w) for w in folds]
    for w, h in zip(folds, held, strict=True):
        if not h:
            print(f"error: {w}: this engine was trained on every train sequence (no holdout to score)",
                  file=sys.stderr)
            return 2
    names = [f"fold {i + 1}" for i in range(len(folds))]
    summary, details = [], []
    for engine in [e for e in args.engines.split(",") if e]:
        per_fold: list[BenchResult] = []
        if engine in LEARNED_ENGINES:
            for w, h in zip(folds, held, strict=True):
                per_fold.append(run_benchmark(args.root, engine=engine, sequences=h,
                                              engine_factory=make_engine_factory(engine, str(w))))
        else:  # no trained weights: one run over every held-out sequence, split by fold after
            res = run_benchmark(args.root, engine=engine, sequences=[s for h in held for s in h],
                                engine_factory=make_engine_factory(engine))
            per_fold = [subset(res, h) for h in held]
        m = pool(per_fold).mean()
        means = [fmt(m["J"]), fmt(m["F"]), fmt(m["J&F"]), fmt(m["flicker"]), fmt(m["fps"], 1)]
        summary.append([engine, *means, *[fmt(res.mean()["J&F"]) for res in per_fold]])
        rows = [[name, r.name, str(r.frames), fmt(r.j), fmt(r.f), fmt(r.jf), fmt(r.flicker), fmt(r.fps, 1),
                 fmt(r.peak_rss_mib, 0)] for name, res in zip(names, per_fold, strict=True) for r in res.runs]
        total = ["all", "mean", str(int(m["frames"])), *means, fmt(m["peak_rss_mib"], 0)]
        rows.append([f"**{c}**" for c in total] if args.markdown else total)
        details.append(f"\n#### engine: {engine}\n" if args.markdown else f"\nengine: {engine}")
        details.append(format_table(["Fold", *BENCH_COLUMNS], rows, markdown=args.markdown))
    print(f"{len(folds)} fold(s), each an engine trained without the sequences it is scored on (427x240):")
    for name, w, h in zip(names, folds, held, strict=True):
        where = "the shipped weights" if w == shipped_weights_dir() else w.parent.name
        print(f"{'- ' if args.markdown else '  '}{name} ({where}): {', '.join(h)}")
    print()
    print(format_table(["Engine", "J", "F", "J&F", "Flicker", "FPS", *[f"J&F {n}" for n in names]], summary,
                       markdown=args.markdown))
    print("\n".join(details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
