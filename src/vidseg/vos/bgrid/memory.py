"""A fixed-size memory of labelled frames, splatted into the bilateral grid at each step.

Each stored frame keeps a subsample of its pixels (position, colour cell, soft labels). When it
is splatted, the pixels of each object are moved by that object's displacement since then, and
optionally the background pixels by the camera's (followed by the tracker as an accumulated
median flow), so the given frame's appearance lands where the object is now.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vidseg.vos.bgrid.grid import LabGrid


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


def centroids(prob: np.ndarray, ids: list[int], min_mass: float = 4.0) -> dict[int, tuple[float, float]]:
    """Probability-weighted centroid (y, x) of every object channel with enough mass."""
    h, w = prob.shape[:2]
    out: dict[int, tuple[float, float]] = {}
    ys = np.arange(h, dtype=np.float32)
    xs = np.arange(w, dtype=np.float32)
    for k, oid in enumerate(ids, start=1):
        p = prob[..., k]
        mass = float(p.sum())
        if mass >= min_mass:
            out[oid] = (float(p.sum(axis=1) @ ys) / mass, float(p.sum(axis=0) @ xs) / mass)
    return out


def make_frame(grid: LabGrid, lab: np.ndarray, prob: np.ndarray, ids: list[int], stride: int,
               places: dict[int, tuple[float, float]]) -> MemoryFrame:
    """A memory frame from a working-resolution Lab frame and its (K+1)-channel probabilities."""
    s = max(1, int(stride))
    sub = prob[::s, ::s]
    h, w = sub.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    return MemoryFrame(
        ys=(ys.ravel() * s).astype(np.int32), xs=(xs.ravel() * s).astype(np.int32),
        colours=grid.colours(lab[::s, ::s]).ravel().astype(np.int32), ids=list(ids),
        probs=np.ascontiguousarray(sub.reshape(h * w, -1), dtype=np.float32) * float(s * s),
        owner=np.argmax(sub, axis=2).ravel(), places=places)


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

    def splat(self, grid: LabGrid, values: np.ndarray, ids: list[int],
              now: dict[int, tuple[float, float]], camera: tuple[float, float],
              given_weight: float, recent_weight: float, shift_background: bool = False) -> None:
        """Add every stored frame to ``values`` (C x size), each object moved by its displacement
        since then (``now[id]`` minus the frame's), the background by the camera's if
        ``shift_background`` (else it stays where it was)."""
        for frames, wt in ((self.given, given_weight), (self.recent, recent_weight)):
            if wt <= 0:
                continue
            for f in frames:
                _splat_frame(grid, values, f, ids, now, camera, wt, shift_background)


def _splat_frame(grid: LabGrid, values: np.ndarray, f: MemoryFrame, ids: list[int],
                 now: dict[int, tuple[float, float]], camera: tuple[float, float], weight: float,
                 shift_background: bool) -> None:
    cy, cx = f.places.get(0, (0.0, 0.0)) if shift_background else camera
    ys = f.ys + int(round(camera[0] - cy))
    xs = f.xs + int(round(camera[1] - cx))
    vals = np.zeros((f.probs.shape[0], len(ids) + 1), np.float32)
    vals[:, 0] = f.probs[:, 0]
    for j, oid in enumerate(f.ids, start=1):
        if oid not in ids:
            continue
        vals[:, ids.index(oid) + 1] = f.probs[:, j]
        if oid in now and oid in f.places:
            sel = f.owner == j
            ys[sel] = f.ys[sel] + int(round(now[oid][0] - f.places[oid][0]))
            xs[sel] = f.xs[sel] + int(round(now[oid][1] - f.places[oid][1]))
    inside = (ys >= 0) & (ys < grid.height) & (xs >= 0) & (xs < grid.width)
    if not inside.all():
        ys, xs, vals = ys[inside], xs[inside], vals[inside]
        cols = f.colours[inside]
    else:
        cols = f.colours
    grid.splat(grid.cells_at(ys, xs, cols), vals, values, weight)
