"""Run every benchmark and write their tables into the README's results section.

    python benchmarks/run_all.py [--only NAME,...] [--skip-long] [--no-readme]

Each benchmark is a script in this folder that prints a markdown table with ``--markdown``; this
runner calls them one after another (so they do not compete for the CPU), keeps each one's tables
in ``benchmarks/results/<name>.md`` and rebuilds the text between ``<!-- results:start -->`` and
``<!-- results:end -->`` in README.md from those files (``--only`` re-runs some, keeps the rest).
Benchmarks that need ``../shared/data`` say so and are skipped when it is absent.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
RESULTS = HERE / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"

# (name, title, arguments after the script path)
BENCHMARKS: list[tuple[str, str, list[str]]] = [
    ("vos_davis", "Tracking accuracy and speed on davis2016-dev (`vidseg bench`, end to end)",
     ["--engines", "copy,fast,default,accurate,classical-fast,classical,classical-accurate"]),
    ("vos_leaveout", "Leave-out estimate: engines trained without some DAVIS-2016 train sequences, scored on them", []),
    ("vos_auto", "No prompt: `vidseg track --auto` on davis2016-dev (unsupervised), beside published anchors", []),
    ("vos_speed_memory", "Tracker speed at 854x480 and memory against video length",
     ["--presets", "fast,default,accurate,classical-fast,classical,classical-accurate",
      "--memory-preset", "default"]),
    ("io_throughput", "Decode -> overlay -> encode at 854x480", []),
    ("io_memory", "Peak memory against video length (decode -> overlay -> encode)", []),
    ("segment_speed", "`vidseg segment` end to end at 854x480, and flicker", []),
    ("segment_person", "Built-in person models: full-body `person` (person-full) against `selfie`", []),
    ("eval_speed", "`vidseg eval` scoring speed", []),
    ("annotate_clicks", "Clicks to masks: the click head against the colour rules", []),
    ("annotate_interactive", "`vidseg annotate`: click and seek latency, DAVIS interactive measure", []),
    ("batch_throughput", "`vidseg batch track`: one worker, the local pool and Ray on 20 clips", []),
    ("mcu_loop", "From annotated footage to an int8 microcontroller model (`vidseg train`, `distil`, `export`)", []),
]
#: benchmarks that train networks (tens of minutes): left out with --skip-long
LONG = {"mcu_loop"}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run(name: str, args: list[str], timeout: float) -> tuple[str, str, float, int]:
    script = HERE / f"{name}.py"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), "--markdown", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=HERE.parent)
    return proc.stdout.strip(), proc.stderr.strip(), time.perf_counter() - t0, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=None, help="comma-separated benchmark names (default: all)")
    ap.add_argument("--no-readme", action="store_true", help="print the tables, do not touch README.md")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per benchmark")
    ap.add_argument("--skip-long", action="store_true", help=f"leave out the long ones ({', '.join(sorted(LONG))})")
    ns = ap.parse_args()
    only = set(ns.only.split(",")) if ns.only else None
    RESULTS.mkdir(exist_ok=True)
    failed = 0
    for name, _title, args in BENCHMARKS:
        if only and name not in only:
            continue
        if ns.skip_long and name in LONG:
            continue
        if not (HERE / f"{name}.py").exists():
            continue
        print(f"== {name} ...", file=sys.stderr, flush=True)
        out, err, secs, rc = run(name, args, ns.timeout)
        if rc != 0:
            failed += 1
            print(f"   {name} failed (exit {rc})", file=sys.stderr)
            continue
        if not out:  # skipped (it says why on stderr): the tables it made before stay
            why = err.splitlines()[-1] if err else "no output"
            print(f"   {name}: {why} ({name}.md kept)", file=sys.stderr)
            continue
        print(out)
        stamp = (f"<sub>{os.cpu_count()} CPU cores ({_cpu()}), Python {platform.python_version()}, "
                 f"{time.strftime('%Y-%m-%d')}, {secs:.0f} s</sub>")
        (RESULTS / f"{name}.md").write_text(f"{out}\n\n{stamp}\n")
        print(f"   {name}: {secs:.0f} s", file=sys.stderr)
    if not ns.no_readme:
        sections = [
            "Figures from `python benchmarks/run_all.py` (`make bench`) on the development machine; "
            "each script in `benchmarks/` also runs alone and explains its method in its docstring."
        ]
        for name, title, _ in BENCHMARKS:
            f = RESULTS / f"{name}.md"
            if f.exists():
                sections.append(f"### {title}\n\n{f.read_text().strip()}")
        text = README.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            _, tail = rest.split(END, 1)
            body = "\n\n".join(sections)
            README.write_text(f"{head}{START}\n## Results\n\n{body}\n{END}{tail}")
            print(f"README.md results rebuilt ({len(sections) - 1} tables)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
