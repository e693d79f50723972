"""Clicks, boxes and strokes to masks, for the annotation page.

* A first positive click on an object (it has no pixels on this frame yet): the pixels nearer to
  the click than to the frame's border in geodesic colour distance (Bai and Sapiro) are probably
  the object, a band around them probably not, the rest surely not; GrabCut at a working
  resolution (short side 240 px) refines that, and the part connected to the click is the mask,
  upsampled smoothly.
* On a propagated frame, the tracker's probability map guides a corrective click: a positive click
  outside the mask where the object's probability is at least ``GROW_THRESHOLD`` adds the region of
  such pixels connected to the click; a negative click on a part of the mask whose probability
  region (above one half) is separate from the rest removes that part.
* A negative click on a separate part of the mask smaller than the rest removes that part.
* Any other later click edits the object's current mask **locally**: GrabCut runs in a window around
  the click (its size follows the object's: its current area, or its area on the nearest user-set
  frame when larger), the current mask its starting guess, the click a sure seed; a positive click may only add the part connected to it, a negative one may only
  remove the part around it. Pixels outside the window never change.
* A box is GrabCut inside the box; a brush or an eraser paints discs along a stroke.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from vidseg.errors import InputError
from vidseg.vos.click_head import drop_specks

Point = tuple[float, float]
WORK_SHORT = 240  # px: GrabCut's working short side
ITERATIONS = 4
LOCAL_WINDOW = 1.5  # a corrective click's window: half its side, in units of sqrt(object area)
LOCAL_SEED = 0.06  # the sure disc around a corrective click, as a share of the window's side
BAND_SHARE = 0.03  # of the short side: the band around the geodesic region GrabCut may claim
GEODESIC_SHORT = 120  # px: the geodesic region's working short side
GROW_THRESHOLD = 0.2  # a positive click grows the mask over the connected region of this probability
GROW_MAX = 3.0  # ... unless that region is larger than this many times the object's expected area
GROW_MIN = 0.25  # a feature-similar region smaller than this share of the expected area is not it
NEG_MARGIN = 4  # px: a negative click's feature-similar region is shrunk by this much
GEODESIC_FLOOR = 2.0  # added to every colour step (Lab units), so flat regions still have a length


def _work_scale(h: int, w: int) -> float:
    return min(1.0, WORK_SHORT / min(h, w))


def _grabcut(image: np.ndarray, seeds: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """GrabCut's object mask (bool) for RGB ``image`` from ``seeds`` (cv2.GC_* labels)."""
    if not ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).any():
        return np.zeros(seeds.shape, bool)
    if not ((seeds == cv2.GC_BGD) | (seeds == cv2.GC_PR_BGD)).any():
        return (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    gc = seeds.copy()
    try:
        cv2.grabCut(np.ascontiguousarray(image[..., ::-1]), gc, (0, 0, 0, 0), bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too few samples of one side: keep the seeds
        gc = seeds
    return (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)


def _connected_to(mask: np.ndarray, points: Sequence[tuple[int, int]]) -> np.ndarray:
    n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = {int(comp[y, x]) for x, y in points} - {0}
    return np.isin(comp, sorted(keep)) if keep else np.zeros(mask.shape, bool)


def _upsample(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if mask.shape == (h, w):
        return mask
    soft = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)
    return cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5


def _check_point(x: float, y: float, w: int, h: int) -> tuple[int, int]:
    if not (0 <= x < w and 0 <= y < h):
        raise InputError(f"point ({x:g}, {y:g}) lies outside the {w}x{h} frame")
    return int(x), int(y)


def click_mask(image: np.ndarray, x: float, y: float, positive: bool, current: np.ndarray | None = None, *,
               probability: np.ndarray | None = None, expected_area: int = 0,
               similar: Callable[[int, int, bool], np.ndarray] | None = None) -> np.ndarray:
    """The object's new mask (bool HxW) after a click at frame pixel (``x``, ``y``) on RGB
    ``image``; ``current`` is its mask before (None or empty: this is its first click);
    ``probability`` (float HxW) the tracker's for the object on a propagated frame,
    ``expected_area`` its area (pixels) on the nearest user-set frame, when known, and
    ``similar(x, y, positive)`` the region around the click that looks like the object (positive)
    or like the background (negative) of the nearest user-set frame (see
    :mod:`vidseg.annotate.similar`), asked for a click the probabilities do not decide."""
    h, w = image.shape[:2]
    px, py = _check_point(x, y, w, h)
    cur = np.zeros((h, w), bool) if current is None else current.astype(bool)
    area = max(expected_area, int(cur.sum()))
    if probability is not None:
        guided = _guided_edit(cur, probability, px, py, positive, area)
        if guided is not None:
            return guided
    if similar is not None and expected_area > 0 and positive != bool(cur[py, px]):
        region = similar(px, py, positive)
        if positive and GROW_MIN * expected_area <= region.sum() <= GROW_MAX * area:
            return drop_specks(cur | region)
        # what a negative click removes keeps off the region's coarse (stride 8) edge
        region = cv2.erode(region.astype(np.uint8), np.ones((2 * NEG_MARGIN + 1,) * 2, np.uint8)) > 0
        if not positive and (cur & region).any() and (cur & ~region).sum() >= GROW_MIN * expected_area:
            return drop_specks(cur & ~region)
    if not cur.any():
        if not positive:
            return np.zeros((h, w), bool)
        return first_click_colour(image, px, py)
    return _local_edit(image, cur, px, py, positive, expected_area)


def _guided_edit(current: np.ndarray, probability: np.ndarray, x: int, y: int, positive: bool,
                 area: int) -> np.ndarray | None:
    """A correction from the tracker's probabilities, or None when they do not decide it."""
    if positive and not current[y, x] and probability[y, x] >= GROW_THRESHOLD:
        grow = _connected_to(probability >= GROW_THRESHOLD, [(x, y)]) & ~current
        if 0 < grow.sum() <= GROW_MAX * max(area, 1):
            return current | grow
    if not positive and current[y, x]:
        core = current & (probability >= 0.5)
        if core[y, x]:
            _, comp = cv2.connectedComponents(core.astype(np.uint8), connectivity=8)
            part = comp == comp[y, x]
            if part.sum() < 0.5 * core.sum():
                return drop_specks(current & ~cv2.dilate(part.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool))
    return None


def _grid_graph(lab: np.ndarray) -> csr_matrix:
    """The 8-connected pixel graph of a Lab image, each edge weighted by the colour difference."""
    h, w = lab.shape[:2]
    idx = np.arange(h * w).reshape(h, w)
    flat = lab.reshape(-1, 3)
    rows, cols, weights = [], [], []
    for a, b, length in ((idx[:, :-1], idx[:, 1:], 1.0), (idx[:-1, :], idx[1:, :], 1.0),
                         (idx[:-1, :-1], idx[1:, 1:], 1.414), (idx[:-1, 1:], idx[1:, :-1], 1.414)):
        a, b = a.ravel(), b.ravel()
        rows.append(a)
        cols.append(b)
        weights.append((np.linalg.norm(flat[a] - flat[b], axis=1) + GEODESIC_FLOOR) * length)
    return coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(h * w, h * w)).tocsr()


def geodesic_region(image: np.ndarray, x: int, y: int, short: int = GEODESIC_SHORT) -> np.ndarray:
    """The pixels nearer to (``x``, ``y``) than to the frame's border in geodesic colour distance
    (Bai and Sapiro's geodesic segmentation), at a small working size; bool, that size."""
    h, w = image.shape[:2]
    s = min(1.0, short / min(h, w))
    small = cv2.resize(image, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    sh, sw = lab.shape[:2]
    graph = _grid_graph(lab)
    sx, sy = min(sw - 1, int(x * s)), min(sh - 1, int(y * s))
    border = np.unique(np.concatenate([np.arange(sw), (sh - 1) * sw + np.arange(sw),
                                       np.arange(sh) * sw, np.arange(sh) * sw + sw - 1]))
    border = border[border != sy * sw + sx]
    d_obj = dijkstra(graph, directed=False, indices=[sy * sw + sx], min_only=True)
    d_bg = dijkstra(graph, directed=False, indices=border, min_only=True)
    return np.asarray(d_obj < d_bg).reshape(sh, sw)


def first_click_colour(image: np.ndarray, x: int, y: int) -> np.ndarray:
    """Geodesic region of the click, refined by GrabCut (it probably is the object, a band
    around it probably not, the rest surely not)."""
    h, w = image.shape[:2]
    region = geodesic_region(image, x, y)
    s = _work_scale(h, w)
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else image
    sh, sw = small.shape[:2]
    sx, sy = min(sw - 1, int(x * s)), min(sh - 1, int(y * s))
    guess = cv2.resize(region.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
    seeds = np.where(guess > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    band = max(3, round(BAND_SHARE * min(sh, sw)))
    seeds[cv2.dilate(guess, np.ones((2 * band + 1, 2 * band + 1), np.uint8)) == 0] = cv2.GC_BGD
    r = max(2, round(0.012 * np.hypot(sh, sw)))
    cv2.circle(seeds, (sx, sy), r, cv2.GC_FGD, -1)
    mask = _connected_to(_grabcut(small, seeds), [(sx, sy)])
    out = _upsample(mask, (h, w))
    if not out.any():
        cv2.circle(out.view(np.uint8), (x, y), max(2, round(r / s)), 1, -1)
    return out


def _local_edit(image: np.ndarray, current: np.ndarray, x: int, y: int, positive: bool,
                expected_area: int = 0) -> np.ndarray:
    h, w = image.shape[:2]
    if not positive and current[y, x]:
        # a negative click on a separate, smaller part of the mask removes that part whole
        _, comp = cv2.connectedComponents(current.astype(np.uint8), connectivity=8)
        part = comp == comp[y, x]
        if part.sum() < 0.5 * current.sum():
            return current & ~part
    area = float(max(current.sum(), expected_area))
    half = int(np.clip(LOCAL_WINDOW * np.sqrt(area), 24, 0.5 * max(h, w)))
    x0, x1, y0, y1 = max(0, x - half), min(w, x + half + 1), max(0, y - half), min(h, y + half + 1)
    crop, cur = image[y0:y1, x0:x1], current[y0:y1, x0:x1]
    ch, cw = cur.shape
    s = min(1.0, WORK_SHORT / max(1, min(ch, cw)), 1.0)
    if s < 1:
        crop = cv2.resize(crop, (max(1, round(cw * s)), max(1, round(ch * s))), interpolation=cv2.INTER_AREA)
        cur_s = cv2.resize(cur.astype(np.uint8), (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    else:
        cur_s = cur
    sh, sw = cur_s.shape
    sx, sy = min(sw - 1, int((x - x0) * s)), min(sh - 1, int((y - y0) * s))
    r = max(2, round(LOCAL_SEED * min(sh, sw)))
    seeds = np.where(cur_s, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    cv2.circle(seeds, (sx, sy), r, cv2.GC_FGD if positive else cv2.GC_BGD, -1)
    got = _grabcut(crop, seeds)
    if positive:
        add = _connected_to(got & ~cur_s, [(sx, sy)]) if not cur_s[sy, sx] else np.zeros_like(got)
        disc = np.zeros((sh, sw), np.uint8)
        cv2.circle(disc, (sx, sy), r, 1, -1)
        new_s = cur_s | add | (disc > 0)
    else:
        removed = cur_s & ~got
        cut = _connected_to(removed, [(sx, sy)]) if removed[sy, sx] else np.zeros_like(removed)
        disc = np.zeros((sh, sw), np.uint8)
        cv2.circle(disc, (sx, sy), r, 1, -1)
        new_s = cur_s & ~cut & ~(disc > 0)
    out = current.copy()
    out[y0:y1, x0:x1] = _upsample(new_s, (ch, cw)) if s < 1 else new_s
    # whatever the window changed, the object keeps no crumbs cut off from it
    return drop_specks(out)


def box_mask(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The object inside ``box`` = (x0, y0, x1, y1), bool HxW (GrabCut at the working size)."""
    h, w = image.shape[:2]
    x0, x1 = sorted((max(0, int(box[0])), min(w, int(box[2]))))
    y0, y1 = sorted((max(0, int(box[1])), min(h, int(box[3]))))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise InputError(f"box {tuple(box)} is empty inside the {w}x{h} frame")
    s = _work_scale(h, w)
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 else image
    seeds = np.full(small.shape[:2], cv2.GC_BGD, np.uint8)
    seeds[int(y0 * s):max(int(y0 * s) + 1, int(y1 * s)), int(x0 * s):max(int(x0 * s) + 1, int(x1 * s))] = cv2.GC_PR_FGD
    out = _upsample(_grabcut(small, seeds), (h, w))
    inside = np.zeros((h, w), bool)
    inside[y0:y1, x0:x1] = True
    out &= inside
    if not out.any():
        out = inside
    return out


def stroke_mask(size: tuple[int, int], points: Sequence[Point], radius: float) -> np.ndarray:
    """The pixels a brush of ``radius`` covers along ``points`` (frame pixels), bool HxW."""
    h, w = size
    if not points:
        raise InputError("a stroke needs at least one point")
    if not 0.5 <= radius <= 500:
        raise InputError(f"brush radius {radius:g} is outside 0.5..500")
    out = np.zeros((h, w), np.uint8)
    r = max(1, round(radius))
    pts = [(round(float(px)), round(float(py))) for px, py in points]
    for px, py in pts:
        if not (-r <= px < w + r and -r <= py < h + r):
            raise InputError(f"point ({px}, {py}) lies outside the {w}x{h} frame")
    for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        cv2.line(out, (ax, ay), (bx, by), 1, thickness=2 * r)
    for px, py in pts:
        cv2.circle(out, (px, py), r, 1, -1)
    return out > 0


def apply_to_labels(labels: np.ndarray, obj_id: int, mask: np.ndarray) -> np.ndarray:
    """``labels`` with object ``obj_id`` replaced by ``mask`` (it wins over other objects)."""
    out = labels.copy()
    out[out == obj_id] = 0
    out[mask] = obj_id
    return out
