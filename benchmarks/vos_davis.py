"""The tracking engines on ../shared/data/davis2016-dev: J, F, J&F, flicker, end-to-end fps and
peak memory per sequence, and the means (the README's table). Skips, saying why, when the data
is absent.

    python benchmarks/vos_davis.py [--engines fast,default,accurate] [--sequences a,b]
                                   [--json OUT] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vidseg.eval.bench import run_benchmark
from vidseg.eval.report import fmt, format_bench, format_table, write_json

DAVIS_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016-dev"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DAVIS_DEV, help="DAVIS-layout dataset root")
    ap.add_argument("--engines", default="copy,fast,default,accurate",
                    help="comma-separated engines (tracking engines, or copy)")
    ap.add_argument("--sequences", default=None, help="comma-separated sequences (default: all)")
    ap.add_argument("--json", type=Path, help="write every figure as JSON to this file")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = ap.parse_args(argv)
    if not args.root.is_dir():
        print(f"skipped: {args.root} is absent (DAVIS-2016 dev data)", file=sys.stderr)
        return 0
    seqs = [s for s in args.sequences.split(",") if s] if args.sequences else None
    docs, summary, details = {}, [], []
    for engine in [e for e in args.engines.split(",") if e]:
        res = run_benchmark(args.root, engine=engine, sequences=seqs)
        details.append(f"\n#### engine: {engine}\n" if args.markdown else f"\nengine: {engine}")
        details.append(format_bench(res, markdown=args.markdown))
        m = res.mean()
        summary.append([engine, fmt(m["J"]), fmt(m["F"]), fmt(m["J&F"]), fmt(m["flicker"]),
                        fmt(m["fps"], 1), fmt(m["peak_rss_mib"], 0)])
        docs[engine] = res.to_dict()
    # the summary first, then each engine's sequences
    print(format_table(["Engine", "J", "F", "J&F", "Flicker", "FPS", "Peak RSS (MiB)"], summary,
                       markdown=args.markdown))
    print(f"(fps end to end: decode, track, write PNGs; {os.cpu_count()} CPUs; peak RSS of the "
          "process tracking each sequence)")
    print("\n".join(details))
    if args.json:
        write_json(docs, args.json, force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
