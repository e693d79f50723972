"""Evaluation reports: text and markdown tables, JSON, CSV and a per-sequence bar chart."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from vidseg.eval.bench import BenchResult
from vidseg.eval.davis import EvalResult
from vidseg.io.atomic import atomic_path

SUMMARY_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")
OBJECT_COLUMNS = ("Object", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay",
                  "Flicker", "Consistency")


def fmt(x: float, digits: int = 3) -> str:
    """A number for a table; NaN prints as ``-``."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool = False) -> str:
    """Columns aligned as text (first column left, others right), or a markdown table."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "| " + " | ".join(["---"] + ["---:"] * (len(headers) - 1)) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def summary_row(result: EvalResult) -> list[str]:
    m = result.mean()
    return [fmt(m[k]) for k in ("J&F", "J", "J-recall", "J-decay", "F", "F-recall", "F-decay")]


def format_summary(result: EvalResult, *, markdown: bool = False) -> str:
    """The standard DAVIS table of the dataset figures."""
    return format_table(SUMMARY_COLUMNS, [summary_row(result)], markdown=markdown)


def object_rows(result: EvalResult) -> list[list[str]]:
    rows = []
    for o in result.objects:
        d = o.as_dict()
        cons = result.consistency.get(o.key, float("nan"))
        rows.append([o.key] + [fmt(d[k]) for k in ("J", "J-recall", "J-decay", "F", "F-recall",
                                                   "F-decay")] + [fmt(o.flicker), fmt(cons)])
    return rows


def format_objects(result: EvalResult, *, markdown: bool = False) -> str:
    """The per-object table (sequence/object id), with flicker and temporal consistency."""
    return format_table(OBJECT_COLUMNS, object_rows(result), markdown=markdown)


def format_consistency(consistency: dict[str, float], *, markdown: bool = False) -> str:
    """A table of ground-truth-free temporal consistency per ``<seq>/<id>``."""
    rows = [[k, fmt(v)] for k, v in consistency.items()]
    return format_table(("Object", "Consistency"), rows, markdown=markdown)


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, float | np.floating):
        return None if math.isnan(x) else float(x)
    return x


def write_json(doc: dict[str, Any], path: str | Path, *, force: bool = False) -> None:
    """Write ``doc`` as JSON atomically (NaN becomes null)."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(json.dumps(_clean(doc), indent=2) + "\n", encoding="utf-8")


def write_csv(result: EvalResult, path: str | Path, *, force: bool = False) -> None:
    """Write the per-object rows (plain fractions, full precision) as CSV atomically."""
    cols = ["sequence", "object", "J", "J-recall", "J-decay", "F", "F-recall", "F-decay",
            "flicker", "consistency", "frames"]
    with atomic_path(path, force=force) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for o in result.objects:
            d = o.as_dict()
            w.writerow([o.sequence, o.obj_id] + [repr(d[k]) for k in cols[2:8]]
                       + [repr(o.flicker), repr(result.consistency.get(o.key, float("nan"))),
                          len(o.frames)])


def plot_image(result: EvalResult) -> Image.Image:
    """A bar chart of J and F per sequence (and the dataset mean), every sequence name written in
    full under its bars (the label area grows to fit the longest)."""
    seqs = result.sequences()
    m = result.mean()
    names = list(seqs) + ["mean"]
    vals = [(s["J"], s["F"]) for s in seqs.values()] + [(m["J"], m["F"])]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = [int(math.ceil(measure.textlength(n))) for n in names]
    text_h = max(int(measure.textbbox((0, 0), n)[3]) for n in names) + 2
    bar, left, top, plot_h = 14, 40, 30, 240
    gap = max(18, text_h - 2 * bar + 6)
    label_h = max(text_w) + 12
    width = max(left + len(names) * (2 * bar + gap) + gap, 260)
    height = top + plot_h + label_h
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    base = top + plot_h
    for tick in range(0, 11, 2):
        y = base - tick / 10 * plot_h
        d.line([(left - 4, y), (im.width - 5, y)], fill=(225, 225, 225))
        d.text((4, y - 6), f"{tick / 10:.1f}", fill="black")
    colours = ((66, 114, 196), (237, 125, 49))
    for i, (name, (j, f)) in enumerate(zip(names, vals, strict=True)):
        x = left + gap + i * (2 * bar + gap)
        for k, v in enumerate((j, f)):
            if not math.isnan(v):
                d.rectangle([x + k * bar, base - v * plot_h, x + (k + 1) * bar - 1, base],
                            fill=colours[k])
        label = Image.new("RGB", (text_w[i] + 2, text_h), "white")
        ImageDraw.Draw(label).text((1, 0), name, fill="black")
        turned = label.rotate(90, expand=True)  # reads upwards, ending just under the axis
        im.paste(turned, (x + bar - turned.width // 2, base + 6))
    d.rectangle([left, 6, left + 10, 16], fill=colours[0])
    d.text((left + 14, 5), "J", fill="black")
    d.rectangle([left + 40, 6, left + 50, 16], fill=colours[1])
    d.text((left + 54, 5), "F", fill="black")
    return im


def write_plot(result: EvalResult, path: str | Path, *, force: bool = False) -> None:
    """Write :func:`plot_image` as a PNG, atomically."""
    im = plot_image(result)
    with atomic_path(path, force=force, suffix=".png") as tmp:
        im.save(tmp, format="PNG")


BENCH_COLUMNS = ("Sequence", "Frames", "J", "F", "J&F", "Flicker", "FPS", "Peak RSS (MiB)")


def format_bench(result: BenchResult, *, markdown: bool = False) -> str:
    """One row per sequence (J, F, J&F, flicker, end-to-end fps, peak RSS) and the means."""
    rows = [[r.name, str(r.frames), fmt(r.j), fmt(r.f), fmt(r.jf), fmt(r.flicker), fmt(r.fps, 1),
             fmt(r.peak_rss_mib, 0)] for r in result.runs]
    m = result.mean()
    rows.append(["mean", str(int(m["frames"])), fmt(m["J"]), fmt(m["F"]), fmt(m["J&F"]),
                 fmt(m["flicker"]), fmt(m["fps"], 1), fmt(m["peak_rss_mib"], 0)])
    if markdown:
        rows[-1] = [f"**{c}**" for c in rows[-1]]
    return format_table(BENCH_COLUMNS, rows, markdown=markdown)
