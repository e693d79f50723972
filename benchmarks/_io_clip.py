"""Shared by the I/O benchmarks: a synthetic 854x480 clip with audio, and table printing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidseg.synthetic import demo_scene, encode_clip

FPS = Fraction(30000, 1001)


def scene_cycle(width: int, height: int, unique: int = 30) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``unique`` rendered (images, labels) of the demo scene, to be cycled over a long clip."""
    scene = demo_scene(width, height, unique)
    pairs = [scene.render(t) for t in range(unique)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def make_clip(
    path: Path, n_frames: int, images: Sequence[np.ndarray], *, preset: str = "ultrafast", gop: int | None = None
) -> Path:
    """Encode ``n_frames`` (cycling ``images``) as H.264 29.97 fps with a 440 Hz AAC track."""
    encode_clip((images[t % len(images)] for t in range(n_frames)), path, fps=FPS, preset=preset, crf=20,
                gop=gop)
    return path


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], *, markdown: bool) -> None:
    """Print ``rows`` as an aligned text table, or a Markdown table."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    if markdown:
        print(f"**{title}**\n")
        print("| " + " | ".join(cells[0]) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for r in cells[1:]:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(title)
    for k, r in enumerate(cells):
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def write_json(path: str | None, data: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2))
