"""The deployment report: flash, tensor arena, MACs, ops, estimated latency on the target's core,
and whether the model fits the target's memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """A microcontroller board: its flash, the RAM budget for the tensor arena, its core."""

    name: str
    flash_bytes: int | None
    arena_budget_bytes: int | None
    core: str
    mhz: int
    note: str


#: Cycles per multiply-accumulate assumed for int8 convolutions with CMSIS-NN on a Cortex-M7
#: (SIMD dual 16-bit MACs, but im2col, requantisation and memory stalls on top): a round,
#: conservative figure, not a measurement.
CYCLES_PER_MAC = 2.0

TARGETS: dict[str, Target] = {
    "portenta-h7": Target("portenta-h7", 2 * 1024 * 1024, 512 * 1024, "Cortex-M7", 480,
                          "Arduino Portenta H7: 2 MB flash, 1 MB SRAM of which ~512 KB usable for the tensor arena"),
    "generic": Target("generic", None, None, "Cortex-M7", 480, "no memory limits checked"),
}


def latency_ms(macs: int, target: Target) -> float:
    return macs * CYCLES_PER_MAC / (target.mhz * 1e6) * 1e3


def fits(flash: int, arena: int | None, target: Target) -> tuple[bool | None, list[str]]:
    """``(fits, problems)``; ``fits`` is ``None`` when the target sets no limits."""
    if target.flash_bytes is None or target.arena_budget_bytes is None:
        return None, []
    problems = []
    if flash > target.flash_bytes:
        problems.append(f"model is {flash / 1024:.0f} KB, {target.name} has {target.flash_bytes / 1024:.0f} KB flash")
    if arena is not None and arena > target.arena_budget_bytes:
        problems.append(f"needs a {arena / 1024:.0f} KB tensor arena, {target.name}'s budget is "
                        f"{target.arena_budget_bytes / 1024:.0f} KB")
    return not problems, problems


def markdown(report: dict[str, Any]) -> str:
    """The report as a short markdown page."""
    r = report
    kb = lambda n: "n/a" if n is None else f"{n / 1024:.1f} KB ({n} bytes)"  # noqa: E731
    lines = [f"# vidseg export: {r['model']}", "",
             "| | |", "| --- | --- |",
             f"| format | {r['format']} |",
             f"| input | {r['input']['shape']} {r['input']['dtype']} |",
             f"| output | {r['output']['shape']} {r['output']['dtype']} |",
             f"| flash (model bytes) | {kb(r['flash_bytes'])} |",
             f"| tensor arena (TFLM, measured) | {kb(r.get('arena_bytes'))} |",
             f"| MACs | {r['macs'] / 1e6:.2f} M |",
             f"| est. latency {r['target']['core']} @ {r['target']['mhz']} MHz | {r['latency_ms']:.1f} ms "
             f"(assumes {r['cycles_per_mac']} cycles per MAC) |",
             f"| target | {r['target']['name']}: {r['target']['note']} |",
             f"| fits | {r['fits']} {'; '.join(r['problems'])} |"]
    if "comparison" in r:
        c = r["comparison"]
        lines += ["", "## int8 vs float", "", f"On {c['frames']} frames ({c['against']}):", "",
                  "| | IoU |", "| --- | ---: |"]
        for k in ("float_iou", "int8_iou", "agreement_iou"):
            if k in c:
                lines.append(f"| {k.replace('_', ' ')} | {c[k]:.4f} |")
        if "ratio" in c:
            lines.append(f"| int8 / float | {c['ratio']:.4f} |")
        lines.append(f"| mean abs probability difference | {c['mean_abs_diff']:.4f} |")
    lines += ["", "## Ops", "", "| op | count |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in r["ops"].items()]
    if r.get("tflm"):
        lines += ["", f"TensorFlow Lite Micro: {r['tflm']}"]
    return "\n".join(lines) + "\n"
