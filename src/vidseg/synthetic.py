"""Synthetic videos with exact ground truth: the demo's sample clip and the tests' fixtures.

A scene is a textured background with textured objects that move (translate, rotate, scale),
cross, leave and re-enter the frame, and hide behind an occluder. Rendering is pure numpy, so
every pixel's object id is known exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import numpy as np


@dataclass
class Shape:
    """An object in a synthetic scene. Positions are functions of the frame index ``t``."""

    obj_id: int
    kind: str  # "ellipse" | "rect" | "star"
    color: tuple[int, int, int]
    size: tuple[float, float]  # half-axes in pixels
    path: list[tuple[float, float]] = field(default_factory=list)  # (x, y) keyframes
    rotation_speed: float = 0.0  # radians per frame
    scale_speed: float = 0.0  # relative growth per frame
    occluder: bool = False  # occluders are drawn on top with id 0


def _texture(h: int, w: int, seed: int, base: tuple[int, int, int], amp: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.normal(0.0, 1.0, (max(2, h // 16), max(2, w // 16), 3)).astype(np.float32)
    import cv2

    tex = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.asarray(base, np.float32)[None, None, :] + amp * tex
    return np.clip(img, 0, 255).astype(np.uint8)


def _interp(path: list[tuple[float, float]], t: float, n: int) -> tuple[float, float]:
    if len(path) == 1:
        return path[0]
    s = t / max(1, n - 1) * (len(path) - 1)
    i = min(int(s), len(path) - 2)
    a = s - i
    (x0, y0), (x1, y1) = path[i], path[i + 1]
    return x0 + a * (x1 - x0), y0 + a * (y1 - y0)


def _shape_mask(shape: Shape, t: int, n: int, h: int, w: int) -> np.ndarray:
    cx, cy = _interp(shape.path, t, n)
    scale = 1.0 + shape.scale_speed * t
    ax, ay = shape.size[0] * scale, shape.size[1] * scale
    ang = shape.rotation_speed * t
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - cx, yy - cy
    c, s = math.cos(ang), math.sin(ang)
    u, v = c * dx + s * dy, -s * dx + c * dy
    if shape.kind == "ellipse":
        return (u / ax) ** 2 + (v / ay) ** 2 <= 1.0
    if shape.kind == "rect":
        return (np.abs(u) <= ax) & (np.abs(v) <= ay)
    if shape.kind == "star":
        r = np.sqrt((u / ax) ** 2 + (v / ay) ** 2)
        theta = np.arctan2(v, u)
        return r <= 0.65 + 0.35 * np.cos(5 * theta)
    raise ValueError(f"unknown shape kind {shape.kind!r}")


@dataclass
class Scene:
    """A renderable scene: ``render(t)`` gives ``(rgb, labels)`` for frame ``t``."""

    width: int
    height: int
    n_frames: int
    shapes: list[Shape]
    seed: int = 0
    noise: float = 3.0

    def __post_init__(self) -> None:
        self._bg = _texture(self.height, self.width, self.seed, (110, 120, 100), 22.0)
        pad = 64
        self._tex = {
            s.obj_id if not s.occluder else -1 - k: _texture(
                self.height + 2 * pad, self.width + 2 * pad, self.seed + 17 * (k + 1), s.color, 25.0
            )
            for k, s in enumerate(self.shapes)
        }

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.height, self.width
        img = self._bg.copy()
        labels = np.zeros((h, w), np.uint8)
        rng = np.random.default_rng(self.seed * 100003 + t)
        order = [s for s in self.shapes if not s.occluder] + [s for s in self.shapes if s.occluder]
        for s in order:
            k = self.shapes.index(s)
            m = _shape_mask(s, t, self.n_frames, h, w)
            key = s.obj_id if not s.occluder else -1 - k
            cx, cy = _interp(s.path, t, self.n_frames)
            ox = int(round(cx)) % 64
            oy = int(round(cy)) % 64
            tex = self._tex[key][oy : oy + h, ox : ox + w]  # texture moves with the object
            img[m] = tex[m]
            labels[m] = 0 if s.occluder else s.obj_id
        if self.noise > 0:
            img = np.clip(img.astype(np.int16) + rng.normal(0, self.noise, img.shape).astype(np.int16), 0, 255)
            img = img.astype(np.uint8)
        return img, labels

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for t in range(self.n_frames):
            yield self.render(t)


def demo_scene(width: int = 320, height: int = 240, n_frames: int = 60, seed: int = 0) -> Scene:
    """Two objects that cross each other, one passing behind an occluder, one rotating star."""
    w, h = width, height
    return Scene(
        width=w,
        height=h,
        n_frames=n_frames,
        seed=seed,
        shapes=[
            Shape(1, "ellipse", (200, 60, 50), (0.11 * w, 0.14 * h), [(0.2 * w, 0.35 * h), (0.8 * w, 0.55 * h)],
                  rotation_speed=0.02),
            Shape(2, "star", (50, 80, 210), (0.12 * w, 0.16 * h), [(0.8 * w, 0.65 * h), (0.25 * w, 0.4 * h)],
                  rotation_speed=0.05, scale_speed=0.004),
            Shape(0, "rect", (90, 90, 90), (0.05 * w, 0.5 * h), [(0.55 * w, 0.5 * h)], occluder=True),
        ],
    )


def write_video(
    scene: Scene,
    path: str | Path,
    *,
    fps: Fraction = Fraction(30000, 1001),
    audio: bool = True,
    codec: str = "libx264",
) -> None:
    """Encode ``scene`` to ``path`` with PyAV (H.264 yuv420p), with a 440 Hz sine track if ``audio``."""
    import av

    with av.open(str(path), "w") as out:
        vs = cast("av.VideoStream", out.add_stream(codec, rate=fps))
        vs.width, vs.height = scene.width, scene.height
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": "18", "preset": "veryfast"}
        as_: av.AudioStream | None = None
        if audio:
            as_ = cast("av.AudioStream", out.add_stream("aac", rate=48000))
            as_.layout = "mono"
        rate = 48000
        samples_per_frame = rate * fps.denominator / fps.numerator
        done = 0
        for t in range(scene.n_frames):
            img, _ = scene.render(t)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = t
            vf.time_base = Fraction(1, 1) / fps
            for p in vs.encode(vf):
                out.mux(p)
            if as_ is not None:
                target = int(round((t + 1) * samples_per_frame))
                n = target - done
                x = np.arange(done, target, dtype=np.float32) / rate
                wave = (0.2 * np.sin(2 * np.pi * 440.0 * x)).astype(np.float32)[None, :]
                af = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
                af.sample_rate = rate
                af.pts = done
                af.time_base = Fraction(1, rate)
                done += n
                for p in as_.encode(af):
                    out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if as_ is not None:
            for p in as_.encode():
                out.mux(p)


def write_masks(scene: Scene, folder: str | Path) -> None:
    """Write the scene's exact ground truth as DAVIS palette PNGs ``00000.png`` ...."""
    from vidseg.io.atomic import atomic_path
    from vidseg.io.palette import write_mask

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for t in range(scene.n_frames):
        _, labels = scene.render(t)
        with atomic_path(d / f"{t:05d}.png", force=True) as tmp:
            write_mask(tmp, labels)
