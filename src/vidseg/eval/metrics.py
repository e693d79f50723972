"""Per-frame DAVIS measures: region similarity J and boundary accuracy F.

These reproduce ``db_eval_iou`` and ``db_eval_boundary`` of the official davis2017-evaluation
code to the last bit, vectorised with numpy and OpenCV.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from vidseg.errors import ArgumentError

BOUND_TH = 0.008  # boundary tolerance as a fraction of the image diagonal


def jaccard(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """J = |pred and gt| / |pred or gt| over non-void pixels; 1 when the union is empty."""
    g, p = _as_bool(gt), _as_bool(pred)
    if g.shape != p.shape:
        raise ArgumentError(f"mask shapes differ: {g.shape} and {p.shape}")
    inter = g & p
    union = g | p
    if void is not None:
        keep = ~_as_bool(void)
        inter &= keep
        union &= keep
    u = int(np.count_nonzero(union))
    if u == 0:
        return 1.0
    return int(np.count_nonzero(inter)) / u


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """1-pixel boundary map of a mask (Martin et al.): a pixel is boundary when it differs from its
    east, south or south-east neighbour; on the last row only east is compared, on the last
    column only south, and the bottom-right pixel never is."""
    seg = _as_bool(mask)
    if seg.ndim != 2:
        raise ArgumentError(f"mask must be 2-D, got shape {seg.shape}")
    b = np.zeros_like(seg)
    if seg.shape[0] == 0 or seg.shape[1] == 0:
        return b
    core = seg[:-1, :-1]
    b[:-1, :-1] = (core ^ seg[:-1, 1:]) | (core ^ seg[1:, :-1]) | (core ^ seg[1:, 1:])
    b[:-1, -1] = seg[:-1, -1] ^ seg[1:, -1]
    b[-1, :-1] = seg[-1, :-1] ^ seg[-1, 1:]
    return b


def boundary_radius(shape: tuple[int, ...], bound_th: float = BOUND_TH) -> int:
    """Tolerance radius in pixels: ``bound_th`` itself if >= 1, else ceil(bound_th x diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    return int(np.ceil(bound_th * np.linalg.norm(shape[:2])))


@lru_cache(maxsize=16)
def disk(radius: int) -> np.ndarray:
    """The disk structuring element of skimage: offsets with dx^2 + dy^2 <= r^2, as uint8."""
    r = int(radius)
    ax = np.arange(-r, r + 1)
    return (ax[None, :] ** 2 + ax[:, None] ** 2 <= r * r).astype(np.uint8)


def f_measure(
    gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None, bound_th: float = BOUND_TH
) -> float:
    """Boundary F-measure of ``pred`` against ``gt`` with a disk tolerance (see module doc)."""
    g, p = _as_bool(gt), _as_bool(pred)
    if g.shape != p.shape:
        raise ArgumentError(f"mask shapes differ: {g.shape} and {p.shape}")
    if void is not None:
        keep = ~_as_bool(void)
        g, p = g & keep, p & keep
    r = boundary_radius(p.shape, bound_th)
    box = _box(g | p, max(r, 1) + 1)
    if box is None:
        return 1.0  # both empty: no boundary on either side
    # Every boundary pixel and every dilation reaching one lie in the box, and the box keeps at
    # least one empty row/column past the masks (or the image edge), so cropping is exact.
    gb, pb = seg2bmap(g[box]), seg2bmap(p[box])
    n_gt, n_fg = int(np.count_nonzero(gb)), int(np.count_nonzero(pb))
    if n_fg == 0 or n_gt == 0:
        return 1.0 if n_fg == n_gt else 0.0
    kernel = disk(r)
    g_dil = cv2.dilate(gb.view(np.uint8), kernel).view(bool)
    p_dil = cv2.dilate(pb.view(np.uint8), kernel).view(bool)
    precision = int(np.count_nonzero(pb & g_dil)) / n_fg
    recall = int(np.count_nonzero(gb & p_dil)) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The bounding box of ``mask`` grown by ``margin`` pixels, clipped; None if it is empty."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    if w == 0 or h == 0:
        return None
    hh, ww = mask.shape
    return (slice(max(y - margin, 0), min(y + h + margin, hh)),
            slice(max(x - margin, 0), min(x + w + margin, ww)))


def _as_bool(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a if a.dtype == bool else a != 0


__all__ = ["BOUND_TH", "boundary_radius", "disk", "f_measure", "jaccard", "seg2bmap"]
