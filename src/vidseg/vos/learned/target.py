"""A per-object linear target model on the backbone's features (as FRTM / JOINT's induction
branch), fit in closed form on the frames where the object was given.

Memory matching finds anything that looks like some part of the object: other dancers, other
cars. A ridge regression fit on the given frame separates the object from *that* frame's
background (spectators included), and :func:`drop_unlike` uses it to remove the predicted parts
it calls background. Features: the stride-16 map (112 channels) and the stride-8 map pooled to
stride 16 (40), standardised with the first given frame's statistics.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidseg.vos._ops import block_mean


def position_features(f16: np.ndarray, f8: np.ndarray) -> np.ndarray:
    """``(P, 152)`` features of the stride-16 positions of one frame: its stride-16 map
    ``(112, h, w)`` and its stride-8 map ``(40, 2h, 2w)`` pooled to stride 16."""
    stacked = np.concatenate([f16, block_mean(f8, 2)[:, :f16.shape[1], :f16.shape[2]]], 0)
    return stacked.reshape(len(stacked), -1).T.astype(np.float32)


class TargetModel:
    """Ridge regression per object from position features to "is the object" (0..1).

    Each given frame adds its class-balanced normal equations, so the fit covers every frame the
    object was given on; memory is one ``(D+1)^2`` matrix per object, whatever the video's length.
    """

    def __init__(self, ridge: float = 1.0) -> None:
        self.ridge = ridge
        self._norm: tuple[np.ndarray, np.ndarray] | None = None
        self._stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._solved: dict[int, np.ndarray] = {}

    def __contains__(self, obj: int) -> bool:
        return obj in self._stats

    def design(self, x: np.ndarray) -> np.ndarray:
        """Position features ``x`` standardised (with the first added frame's statistics) plus a
        bias column: what :meth:`add` and :meth:`score` take, computed once per frame."""
        if self._norm is None:
            self._norm = (x.mean(0), x.std(0) + 1e-3)
        mean, std = self._norm
        return np.concatenate([(x - mean) / std, np.ones((len(x), 1), np.float32)], 1)

    def add(self, obj: int, d: np.ndarray, target: np.ndarray) -> None:
        """Add a frame where ``obj`` covers ``target`` (``(P,)`` fractions) of the positions of
        design matrix ``d`` (:meth:`design`)."""
        fg = target > 0.5
        n_fg = int(fg.sum())
        if n_fg == 0 or n_fg == len(fg):
            return  # nothing to separate on this frame
        weight = np.where(fg, 0.5 / n_fg, 0.5 / (len(fg) - n_fg)).astype(np.float32)
        gram, rhs = d.T @ (d * weight[:, None]), d.T @ (weight * target)
        if obj in self._stats:
            gram, rhs = gram + self._stats[obj][0], rhs + self._stats[obj][1]
        self._stats[obj] = (gram, rhs)
        self._solved.pop(obj, None)

    def forget(self, obj: int) -> None:
        self._stats.pop(obj, None)
        self._solved.pop(obj, None)

    def score(self, obj: int, d: np.ndarray) -> np.ndarray:
        """``(P,)`` scores of ``obj`` at the positions of design matrix ``d`` (about 1 on the
        object, 0 elsewhere)."""
        if obj not in self._solved:
            gram, rhs = self._stats[obj]
            frames = gram[-1, -1]  # the weights sum to 1 per frame
            reg = self.ridge * frames / len(d) * np.eye(len(rhs), dtype=gram.dtype)
            self._solved[obj] = np.linalg.solve(gram + reg, rhs).astype(np.float32)
        return d @ self._solved[obj]


def drop_unlike(logits: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
    """Remove the connected parts of ``logits > 0`` whose mean target score (``score``, same
    size) is under ``threshold``; the largest part always stays (an object is never erased
    here; losing it is the memory read-out's call)."""
    fg = (logits > 0).astype(np.uint8)
    n, comp = cv2.connectedComponents(fg, connectivity=8)
    if n <= 2:
        return logits
    sizes = np.bincount(comp.ravel(), minlength=n)
    means = np.bincount(comp.ravel(), weights=score.ravel(), minlength=n) / np.maximum(sizes, 1)
    unlike = means < threshold
    unlike[0] = False
    unlike[1 + int(np.argmax(sizes[1:]))] = False
    if not unlike.any():
        return logits
    return np.where(unlike[comp], np.minimum(logits, -8.0), logits).astype(np.float32)
