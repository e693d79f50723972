"""A fixed-size memory of labelled frames, splatted into the bilateral grid at each step.

Each stored frame keeps a subsample of its pixels (position, colour cell, soft labels). When it
is splatted, the pixels of each object are moved by that object's displacement since then, and
optionally the background pixels by the camera's (followed by the tracker as an accumulated
homography, or median flow), so the given frame's appearance lands where the object is now. All
frames are splatted in one pass: the grid is large next to the points.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vidseg.vos.classical.grid import LabGrid
from vidseg.vos.objects import ObjectManager


@dataclass
class MemoryFrame:
    """A subsampled labelled frame: pixel positions, colour cells, labels and centroids."""

    ys: np.ndarray
    xs: np.ndarray
    colours: np.ndarray
    ids: list[int]  # object id of each label channel after the background (channel 0)
    probs: np.ndarray  # N x (len(ids)+1) soft labels
    owner: np.ndarray  # N: argmax channel of each pixel
    places: dict[int, tuple[float, float]]  # accumulated (y, x) displacements then; 0 = camera
    camera: np.ndarray | None = None  # 3x3 map from this frame's pixels to the reference frame's


def centroids(prob: np.ndarray, objects: ObjectManager, min_mass: float = 4.0) -> dict[int, tuple[float, float]]:
    """Probability-weighted centroid (y, x) of every tracked object with enough mass."""
    h, w = prob.shape[:2]
    out: dict[int, tuple[float, float]] = {}
    ys = np.arange(h, dtype=np.float32)
    xs = np.arange(w, dtype=np.float32)
    for k, oid in objects.with_channels():
        p = prob[..., k]
        mass = float(p.sum())
        if mass >= min_mass:
            out[oid] = (float(p.sum(axis=1) @ ys) / mass, float(p.sum(axis=0) @ xs) / mass)
    return out


def make_frame(grid: LabGrid, lab: np.ndarray, prob: np.ndarray, ids: list[int], stride: int,
               places: dict[int, tuple[float, float]], camera: np.ndarray | None = None) -> MemoryFrame:
    """A memory frame from a working-resolution Lab frame and its (K+1)-channel probabilities."""
    s = max(1, int(stride))
    sub = prob[::s, ::s]
    h, w = sub.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    return MemoryFrame(
        ys=(ys.ravel() * s).astype(np.int32), xs=(xs.ravel() * s).astype(np.int32),
        colours=grid.colours(lab[::s, ::s]).ravel().astype(np.int32), ids=list(ids),
        probs=np.ascontiguousarray(sub.reshape(h * w, -1), dtype=np.float32) * float(s * s),
        owner=np.argmax(sub, axis=2).ravel(), places=places,
        camera=None if camera is None else camera.copy())


class FrameMemory:
    """The given frames (at most ``given_size``, newest kept) and ``recent_size`` recent ones."""

    def __init__(self, given_size: int, recent_size: int) -> None:
        self.given: deque[MemoryFrame] = deque(maxlen=max(1, given_size))
        self.recent: deque[MemoryFrame] = deque(maxlen=max(0, recent_size))

    def __len__(self) -> int:
        return len(self.given) + len(self.recent)

    def add_given(self, frame: MemoryFrame) -> None:
        """Remember a frame whose mask was given; recent frames, made before it, are dropped."""
        self.given.append(frame)
        self.recent.clear()

    def add_recent(self, frame: MemoryFrame) -> None:
        if self.recent.maxlen:
            self.recent.append(frame)

    def splat(self, grid: LabGrid, values: np.ndarray, objects: ObjectManager,
              now: dict[int, tuple[float, float]], camera: tuple[float, float],
              given_weight: float, recent_weight: float, shift_background: bool = False,
              camera_now: np.ndarray | None = None, camera_share: float = 1.0) -> None:
        """Add every stored frame to ``values`` (C x size, channels as in ``objects``, the ids
        tracked now), each object moved by its displacement
        since then (``now[id]`` minus the frame's), the background by the camera's if
        ``shift_background`` (else it stays where it was): by the camera's homography when both
        the frame and ``camera_now`` (3x3, current pixels -> reference) have one; only
        ``camera_share`` of the background's weight is moved, the rest stays in place."""
        points: list[tuple[np.ndarray, np.ndarray]] = []
        for frames, wt in ((self.given, given_weight), (self.recent, recent_weight)):
            if wt <= 0:
                continue
            for f in frames:
                _splat_frame(grid, points, f, objects, now, camera, wt, shift_background, camera_now,
                             camera_share)
        if points:  # one splat for all: the grid is large next to the points
            grid.splat(np.concatenate([c for c, _ in points]), np.concatenate([v for _, v in points]), values)


def _splat_frame(grid: LabGrid, values: list[tuple[np.ndarray, np.ndarray]], f: MemoryFrame, objects: ObjectManager,
                 now: dict[int, tuple[float, float]], camera: tuple[float, float], weight: float,
                 shift_background: bool, camera_now: np.ndarray | None, camera_share: float) -> None:
    ys, xs = f.ys.copy(), f.xs.copy()
    vals = np.zeros((f.probs.shape[0], len(objects) + 1), np.float32)
    vals[:, 0] = f.probs[:, 0]
    for j, oid in enumerate(f.ids, start=1):
        if oid not in objects:  # no longer tracked: its pixels are labelled for nobody
            continue
        vals[:, objects.channel(oid)] = f.probs[:, j]
        if oid in now and oid in f.places:
            sel = f.owner == j
            ys[sel] = f.ys[sel] + int(round(now[oid][0] - f.places[oid][0]))
            xs[sel] = f.xs[sel] + int(round(now[oid][1] - f.places[oid][1]))
    share = camera_share if shift_background else 0.0
    if share > 0:
        bg = f.owner == 0
        if camera_now is not None and f.camera is not None:
            by, bx = _transform(np.linalg.inv(camera_now) @ f.camera, f.ys[bg], f.xs[bg])
        else:
            cy, cx = f.places.get(0, (0.0, 0.0))
            by = f.ys[bg] + int(round(camera[0] - cy))
            bx = f.xs[bg] + int(round(camera[1] - cx))
        _splat_points(grid, values, by, bx, f.colours[bg], vals[bg], weight * share)
        if share < 1:  # the rest of the background stays where it was (it moves with the view)
            _splat_points(grid, values, ys, xs, f.colours, vals, weight, bg, 1.0 - share)
            return
        keep = ~bg
        ys, xs, cols, vals = ys[keep], xs[keep], f.colours[keep], vals[keep]
    else:
        cols = f.colours
    _splat_points(grid, values, ys, xs, cols, vals, weight)


def _splat_points(grid: LabGrid, values: list[tuple[np.ndarray, np.ndarray]], ys: np.ndarray, xs: np.ndarray, cols: np.ndarray,
                  vals: np.ndarray, weight: float, damp: np.ndarray | None = None, factor: float = 1.0) -> None:
    """Collect the cells and weighted values of the points inside the grid; those selected by
    ``damp`` get ``factor`` of the weight."""
    scale = np.float32(weight) if damp is None else np.where(damp, np.float32(weight * factor),
                                                             np.float32(weight))[:, None]
    vals = vals * scale
    inside = (ys >= 0) & (ys < grid.height) & (xs >= 0) & (xs < grid.width)
    if not inside.all():
        ys, xs, vals, cols = ys[inside], xs[inside], vals[inside], cols[inside]
    values.append((grid.cells_at(ys, xs, cols), vals))


def _transform(m: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer pixel positions ``(ys, xs)`` mapped by the 3x3 homography ``m``."""
    x, y = xs.astype(np.float32), ys.astype(np.float32)
    d = m[2, 0] * x + m[2, 1] * y + m[2, 2]
    d = np.where(np.abs(d) < 1e-6, 1e-6, d)
    nx = (m[0, 0] * x + m[0, 1] * y + m[0, 2]) / d
    ny = (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / d
    return np.rint(ny).astype(np.int32), np.rint(nx).astype(np.int32)
