"""Synthetic scenes for the tracker tests, and those scenes written as a frame folder or an
encoded video (sources with random access)."""

from __future__ import annotations

from pathlib import Path

import cv2

from vidseg.synthetic import Scene, motion_scene, write_video

W, H = 192, 144


def make_scene(kind: str, n: int = 30) -> Scene:
    """A small scene of one kind of motion (see :func:`vidseg.synthetic.motion_scene`)."""
    return motion_scene(kind, n, width=W, height=H)


def write_scene(scene: Scene, path: Path, kind: str = "folder") -> Path:
    """``scene`` as a folder of lossless PNG frames (``kind="folder"``) or an H.264 video."""
    if kind == "video":
        write_video(scene, path.with_suffix(".mp4"), audio=False, crf=12)
        return path.with_suffix(".mp4")
    path.mkdir(parents=True, exist_ok=True)
    for t in range(scene.n_frames):
        cv2.imwrite(str(path / f"{t:05d}.png"), cv2.cvtColor(scene.render(t)[0], cv2.COLOR_RGB2BGR))
    return path

