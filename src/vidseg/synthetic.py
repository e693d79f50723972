"""Synthetic videos with exact ground truth: the demo's sample clip and the tests' fixtures.

A scene is a textured background with textured objects that move (translate, rotate, scale),
cross, leave and re-enter the frame, and hide behind an occluder. Rendering is pure numpy, so
every pixel's object id is known exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np

from vidseg.errors import ArgumentError


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
    raise ArgumentError(f"unknown shape kind {shape.kind!r}")


@dataclass
class Scene:
    """A renderable scene: ``render(t)`` gives ``(rgb, labels)`` for frame ``t``."""

    width: int
    height: int
    n_frames: int
    shapes: list[Shape]
    seed: int = 0
    noise: float = 3.0
    pan: tuple[float, float] = (0.0, 0.0)  # the background's motion in px per frame (a panning camera)

    def __post_init__(self) -> None:
        self._bg = _texture(self.height, self.width, self.seed, (110, 120, 100), 22.0)
        if self.pan != (0.0, 0.0):  # a larger background the frame moves over
            self._bg_pad = (int(math.ceil(abs(self.pan[0]) * self.n_frames)) + 1,
                            int(math.ceil(abs(self.pan[1]) * self.n_frames)) + 1)
            self._bg_big = _texture(self.height + self._bg_pad[1], self.width + self._bg_pad[0], self.seed,
                                    (110, 120, 100), 22.0)
        pad = 64
        self._tex = {
            s.obj_id if not s.occluder else -1 - k: _texture(
                self.height + 2 * pad, self.width + 2 * pad, self.seed + 17 * (k + 1), s.color, 25.0
            )
            for k, s in enumerate(self.shapes)
        }

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.height, self.width
        img = self._background(t)
        labels = np.zeros((h, w), np.uint8)
        rng = np.random.default_rng(self.seed * 100003 + t)
        order = [s for s in self.shapes if not s.occluder] + [s for s in self.shapes if s.occluder]
        for s in order:
            k = self.shapes.index(s)
            m = _shape_mask(s, t, self.n_frames, h, w)
            key = s.obj_id if not s.occluder else -1 - k
            cx, cy = _interp(s.path, t, self.n_frames)
            tex = self._tex[key]
            # the texture moves with the object: pixel (x, y) shows texel (x - cx, y - cy)
            ys, xs = np.nonzero(m)
            th, tw = tex.shape[:2]  # the object centre sits mid-texture: no wrap seam inside it
            img[ys, xs] = tex[(ys - int(round(cy)) + th // 2) % th, (xs - int(round(cx)) + tw // 2) % tw]
            labels[m] = 0 if s.occluder else s.obj_id
        if self.noise > 0:
            img = np.clip(img.astype(np.int16) + rng.normal(0, self.noise, img.shape).astype(np.int16), 0, 255)
            img = img.astype(np.uint8)
        return img, labels

    def _background(self, t: int) -> np.ndarray:
        """The background of frame ``t``: still, or panned by ``pan`` px per frame."""
        if self.pan == (0.0, 0.0):
            return self._bg.copy()
        x0 = int(round(self.pan[0] * t)) if self.pan[0] >= 0 else self._bg_pad[0] - 1 + int(round(self.pan[0] * t))
        y0 = int(round(self.pan[1] * t)) if self.pan[1] >= 0 else self._bg_pad[1] - 1 + int(round(self.pan[1] * t))
        return self._bg_big[y0:y0 + self.height, x0:x0 + self.width].copy()

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


MOTIONS = ("translate", "rotate_scale", "cross", "leave", "occlude")


def motion_scene(kind: str, n_frames: int = 30, *, width: int = 192, height: int = 144, seed: int = 3) -> Scene:
    """A small scene of one kind of motion, for testing trackers: ``translate``, ``rotate_scale``,
    ``cross`` (two objects swap places), ``leave`` (exits on the right and comes back) or
    ``occlude`` (passes behind a grey bar). Positions are given for a 192x144 frame and scaled."""
    sx, sy = width / 192, height / 144

    def at(*pts: tuple[float, float]) -> list[tuple[float, float]]:
        return [(x * sx, y * sy) for x, y in pts]

    red, blue, grey = (210, 60, 40), (40, 70, 220), (90, 90, 90)
    if kind == "translate":
        shapes = [Shape(1, "ellipse", red, (22 * sx, 16 * sy), at((40, 50), (150, 95)))]
    elif kind == "rotate_scale":
        shapes = [Shape(1, "star", blue, (30 * sx, 30 * sy), at((96, 72), (110, 70)), rotation_speed=0.06,
                        scale_speed=0.012)]
    elif kind == "cross":
        shapes = [Shape(1, "ellipse", red, (20 * sx, 15 * sy), at((35, 60), (160, 80))),
                  Shape(2, "rect", blue, (16 * sx, 14 * sy), at((160, 60), (35, 85)))]
    elif kind == "leave":
        shapes = [Shape(1, "ellipse", red, (18 * sx, 14 * sy), at((90, 72), (250, 72), (250, 72), (90, 72)))]
    elif kind == "occlude":
        shapes = [Shape(1, "ellipse", red, (16 * sx, 14 * sy), at((30, 72), (170, 72))),
                  Shape(0, "rect", grey, (24 * sx, 80 * sy), at((100, 72)), occluder=True)]
    else:
        raise ArgumentError(f"unknown motion {kind!r} (choose from {', '.join(MOTIONS)})")
    return Scene(width=width, height=height, n_frames=n_frames, shapes=shapes, seed=seed)


def tone(start: int, end: int, rate: int = 48000, freq: float = 440.0) -> np.ndarray:
    """Samples ``start..end`` of a sine tone as a (1, n) float32 array (mono, planar)."""
    x = np.arange(start, end, dtype=np.float32) / rate
    return (0.2 * np.sin(2 * np.pi * freq * x)).astype(np.float32)[None, :]


def encode_clip(
    images: Iterable[np.ndarray],
    path: str | Path,
    *,
    fps: Fraction = Fraction(30000, 1001),
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: bool = True,
    codec: str = "libx264",
    preset: str = "veryfast",
    crf: int = 18,
    gop: int | None = None,
    rotation: int = 0,
    container_options: dict[str, str] | None = None,
) -> list[int]:
    """Encode RGB ``images`` to ``path`` with PyAV, with a 440 Hz AAC track if ``audio``.

    Frame ``t`` gets ``pts[t]`` in ``time_base`` (default: ``t`` in ``1/fps``, constant rate; pass
    both for a variable frame rate). Odd sizes use yuv420p's sibling yuv444p. The audio follows the
    video's clock frame by frame. Returns the pts used.
    """
    import av

    tb = time_base if time_base is not None else 1 / Fraction(fps)
    rate = 48000
    used: list[int] = []
    with av.open(str(path), "w", options=container_options or {}) as out:
        vs = cast("av.VideoStream", out.add_stream(codec, rate=Fraction(fps)))
        vs.time_base = tb
        vs.codec_context.time_base = tb
        opts: dict[str, object] = {"crf": str(crf), "preset": preset}
        if gop:
            opts["g"] = str(gop)
        vs.options = opts
        if rotation:
            vs.set_display_rotation(rotation)
        as_: av.AudioStream | None = None
        if audio:
            as_ = cast("av.AudioStream", out.add_stream("aac", rate=rate))
            as_.layout = "mono"
        done = 0
        step = round(1 / (Fraction(fps) * tb))
        for t, img in enumerate(images):
            if t == 0:
                vs.width, vs.height = img.shape[1], img.shape[0]
                vs.pix_fmt = "yuv420p" if img.shape[1] % 2 == 0 and img.shape[0] % 2 == 0 else "yuv444p"
            p = pts[t] if pts is not None else t
            used.append(p)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            vf.pts, vf.time_base = p, tb
            for pkt in vs.encode(vf):
                out.mux(pkt)
            if as_ is not None:
                nxt = pts[t + 1] if pts is not None and t + 1 < len(pts) else p + step
                target = int(nxt * tb * rate)
                if target > done:
                    af = av.AudioFrame.from_ndarray(tone(done, target, rate), format="fltp", layout="mono")
                    af.sample_rate, af.pts, af.time_base = rate, done, Fraction(1, rate)
                    done = target
                    for pkt in as_.encode(af):
                        out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if as_ is not None:
            for pkt in as_.encode():
                out.mux(pkt)
    return used


def write_video(
    scene: Scene,
    path: str | Path,
    *,
    fps: Fraction = Fraction(30000, 1001),
    audio: bool = True,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
    **kwargs: Any,
) -> None:
    """Encode ``scene`` to ``path`` (see :func:`encode_clip`); ``on_frame(t, labels)`` sees each
    frame's exact labels as it is rendered (to write masks or show progress)."""

    def frames() -> Iterator[np.ndarray]:
        for t in range(scene.n_frames):
            img, labels = scene.render(t)
            if on_frame is not None:
                on_frame(t, labels)
            yield img

    encode_clip(frames(), path, fps=fps, audio=audio, **kwargs)


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
