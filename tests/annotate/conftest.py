"""Fixtures for the annotate tests: a small generated clip with exact masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseg.synthetic import Scene, demo_scene, write_video

W, H, N = 160, 120, 16


@dataclass
class Clip:
    path: Path
    scene: Scene

    def labels(self, t: int) -> np.ndarray:
        return self.scene.render(t)[1]

    def interior(self, t: int, obj: int) -> tuple[int, int]:
        """The object's most interior pixel on frame ``t`` (x, y)."""
        m = (self.labels(t) == obj).astype(np.uint8)
        d = cv2.distanceTransform(m, cv2.DIST_L2, 5)
        y, x = np.unravel_index(int(np.argmax(d)), d.shape)
        return int(x), int(y)


@pytest.fixture(scope="session")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    d = tmp_path_factory.mktemp("annotate-clip")
    scene = demo_scene(W, H, N, seed=1)
    write_video(scene, d / "clip.mp4", audio=True)
    return Clip(d / "clip.mp4", scene)


@pytest.fixture()
def clip(clip_file: Clip, tmp_path: Path) -> Clip:
    """A fresh copy of the clip per test (its project folder goes beside it)."""
    target = tmp_path / "clip.mp4"
    target.write_bytes(clip_file.path.read_bytes())
    return Clip(target, clip_file.scene)
