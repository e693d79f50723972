"""Shared fixtures: synthetic videos and frame folders with exact ground-truth labels.

``make_video(tmp_path, n_frames=12, size=(96, 64), fps=Fraction(30000, 1001), audio=True,
vfr=False)`` encodes a moving-shapes scene with PyAV and returns a :class:`SyntheticVideo`
(path, exact labels, the pts written, time base). ``make_frames`` writes a scene as images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseg.synthetic import demo_scene, encode_clip

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

VFR_STEPS = (3003, 6006, 1501)  # ticks of 1/90000 s: 33.4 ms, 66.7 ms, 16.7 ms


@dataclass
class SyntheticVideo:
    path: Path
    labels: np.ndarray  # (n, H, W) uint8 exact object ids
    images: np.ndarray  # (n, H, W, 3) uint8 RGB as rendered (before lossy encoding)
    pts: list[int]
    time_base: Fraction
    audio: bool

    @property
    def n_frames(self) -> int:
        return int(self.labels.shape[0])

    @property
    def times(self) -> list[float]:
        return [float(p * self.time_base) for p in self.pts]


def write_synthetic_video(
    path: Path,
    *,
    n_frames: int = 12,
    size: tuple[int, int] = (96, 64),
    fps: Fraction = Fraction(30000, 1001),
    audio: bool = True,
    vfr: bool = False,
    gop: int | None = None,
    rotation: int = 0,
    faststart: bool = False,
    preset: str = "ultrafast",
    seed: int = 0,
) -> SyntheticVideo:
    """Encode a demo scene (H.264; yuv444p when the size is odd) with an optional 440 Hz track."""
    w, h = size
    scene = demo_scene(w, h, n_frames, seed=seed)
    tb = Fraction(1, 90000) if vfr else 1 / Fraction(fps)
    pts = [0]
    for k in range(1, n_frames):
        pts.append(pts[-1] + (VFR_STEPS[k % len(VFR_STEPS)] if vfr else 1))
    rendered = [scene.render(t) for t in range(n_frames)]
    images = [r[0] for r in rendered]
    labels = [r[1] for r in rendered]
    encode_clip(images, path, fps=Fraction(fps), pts=pts, time_base=tb, audio=audio, preset=preset, gop=gop,
                rotation=rotation, container_options={"movflags": "+faststart"} if faststart else None)
    return SyntheticVideo(Path(path), np.stack(labels), np.stack(images), pts, tb, audio)


@pytest.fixture
def make_video() -> Callable[..., SyntheticVideo]:
    """``make_video(tmp_path, name="clip.mp4", **kw)`` -> :class:`SyntheticVideo`."""

    def _make(folder: Path, name: str = "clip.mp4", **kw: object) -> SyntheticVideo:
        return write_synthetic_video(Path(folder) / name, **kw)  # type: ignore[arg-type]

    return _make


@pytest.fixture
def make_frames() -> Callable[..., tuple[Path, np.ndarray]]:
    """``make_frames(folder, n=5, size=(64, 48), names=None, ext=".png")`` writes a scene's
    frames as images (names default ``frame0..``); returns (folder, labels)."""

    def _make(
        folder: Path, n: int = 5, size: tuple[int, int] = (64, 48), names: list[str] | None = None,
        ext: str = ".png",
    ) -> tuple[Path, np.ndarray]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        scene = demo_scene(size[0], size[1], n)
        labels = []
        for t in range(n):
            img, lab = scene.render(t)
            labels.append(lab)
            name = names[t] if names else f"frame{t}"
            cv2.imwrite(str(folder / f"{name}{ext}"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        return folder, np.stack(labels)

    return _make


@pytest.fixture(scope="session")
def dead_pid() -> int:
    """The id of a process that has ended (as a ``kill -9``-ed run's would be)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA
