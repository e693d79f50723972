"""Fixtures for the batch tests: folders of tiny synthetic clips (exact masks from
:mod:`vidseg.synthetic`), each with its first-frame prompt ``<name>.png`` beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from vidseg.io.palette import write_mask
from vidseg.synthetic import demo_scene, encode_clip

SIZE = (64, 48)


@dataclass
class Clip:
    name: str
    path: Path
    prompt: Path
    labels: np.ndarray  # (n, H, W) exact ids


def write_clip(folder: Path, name: str, *, frames: int = 8, seed: int = 0, size: tuple[int, int] = SIZE) -> Clip:
    """A demo-scene clip ``folder/name.mp4`` (no audio) and its first mask ``folder/name.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    scene = demo_scene(size[0], size[1], frames, seed=seed)
    rendered = [scene.render(t) for t in range(frames)]
    path = folder / f"{name}.mp4"
    encode_clip([r[0] for r in rendered], path, audio=False, preset="ultrafast")
    prompt = folder / f"{name}.png"
    write_mask(prompt, rendered[0][1])
    return Clip(name, path, prompt, np.stack([r[1] for r in rendered]))


def write_corrupt(folder: Path, name: str = "broken") -> Path:
    """Random bytes named ``name.mp4``, with a valid prompt beside it."""
    path = folder / f"{name}.mp4"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    write_mask(folder / f"{name}.png", np.zeros((SIZE[1], SIZE[0]), np.uint8) + (np.arange(SIZE[0]) < 20))
    return path


@pytest.fixture
def make_clips() -> Callable[..., list[Clip]]:
    """``make_clips(folder, n, frames=8, corrupt=False)``: n clips ``clip0``..., plus ``broken.mp4``."""

    def make(folder: Path, n: int, *, frames: int = 8, corrupt: bool = False) -> list[Clip]:
        folder.mkdir(parents=True, exist_ok=True)
        clips = [write_clip(folder, f"clip{k}", frames=frames, seed=k) for k in range(n)]
        if corrupt:
            write_corrupt(folder)
        return clips

    return make
