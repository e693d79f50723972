"""Small writers of synthetic DAVIS-layout sequences for the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from vidseg.io.palette import write_mask
from vidseg.synthetic import demo_scene

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DAVIS_DEV = SHARED / "davis2016-dev"


def write_seq(folder: Path, labels: Sequence[np.ndarray], *, grey: bool = False,
              stems: Sequence[str] | None = None) -> Path:
    """Write label maps as palette PNGs (or grey PNGs with ``grey``) named 00000.png ..."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, lab in enumerate(labels):
        name = f"{stems[i] if stems else f'{i:05d}'}.png"
        if grey:
            Image.fromarray(np.asarray(lab, np.uint8), mode="L").save(folder / name)
        else:
            write_mask(folder / name, np.asarray(lab, np.uint8))
    return folder


def scene_labels(n: int = 8, w: int = 96, h: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Label maps of the two-object demo scene."""
    scene = demo_scene(width=w, height=h, n_frames=n, seed=seed)
    return [scene.render(t)[1] for t in range(n)]


def shifted(labels: Sequence[np.ndarray], dx: int, dy: int = 0) -> list[np.ndarray]:
    return [np.roll(lab, (dy, dx), (0, 1)) for lab in labels]
