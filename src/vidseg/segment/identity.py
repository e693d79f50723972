"""Keep instance identities over time, so an object keeps its id (and so its colour).

Each frame's detections are matched to the live tracks with the Hungarian algorithm on a cost
that mixes mask IoU (after moving the track's last mask by its velocity), box IoU, and colour
appearance (an HSV histogram kept as a running average). Tracks of another class never match.
Unmatched detections start new ids; a track unseen for ``max_age`` frames is dropped, and until
then a re-appearing object is recognised by its appearance. Ids are 1..255 (palette values).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from vidseg.segment.instance import Instances

_STRIDE = 4  # masks are compared at 1/4 resolution


@dataclass
class _Track:
    tid: int
    cls: int
    template: np.ndarray  # low-res bool mask from the last frame where the object looked whole
    t_centre: np.ndarray  # centre of ``template``
    centre: np.ndarray  # current centre estimate (low-res pixels)
    hist: np.ndarray
    size: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))  # full-res w, h, area when whole
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    missed: int = 0
    since_good: int = 0
    hits: int = 1

    def predicted(self) -> tuple[np.ndarray, np.ndarray]:
        """The template moved to where the object should be now, and its xyxy box."""
        d = self.centre + self.velocity - self.t_centre
        m = _shift(self.template, int(round(float(d[0]))), int(round(float(d[1]))))
        return m, _mask_box(m)


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(N, 4)`` and ``(M, 4)`` xyxy boxes."""
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = aa[:, None] + ab[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _shift(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(0, dy):h + min(0, dy), max(0, dx):w + min(0, dx)] = mask[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    return out


def appearance(image: np.ndarray, mask: np.ndarray, *, hsv: np.ndarray | None = None) -> np.ndarray:
    """A normalised 8x8 hue-saturation histogram of ``image`` (RGB) under ``mask``
    (``hsv``: the image already converted, to share one conversion between masks)."""
    if hsv is None:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    m = mask.astype(np.uint8)
    h = cv2.calcHist([hsv], [0, 1], m, [8, 8], [0, 180, 0, 256]).ravel()
    s = float(h.sum())
    return (h / s).astype(np.float32) if s > 0 else np.full(64, 1 / 64, np.float32)


class IdentityTracker:
    """Assign stable ids to per-frame instances.

    ``update(instances, image)`` returns an ``(N,)`` array of ids in 1..255 for the instances.
    """

    def __init__(self, *, max_age: int = 30, min_score: float = 0.25, appearance_weight: float = 0.3,
                 ema: float = 0.8, min_similarity: float = 0.3) -> None:
        self.max_age = max_age
        self.min_similarity = min_similarity
        self.min_score = min_score
        self.appearance_weight = appearance_weight
        self.ema = ema
        self.tracks: list[_Track] = []
        self._next = 1

    def _new_id(self) -> int:
        used = {t.tid for t in self.tracks}
        for _ in range(255):
            tid = self._next
            self._next = self._next % 255 + 1
            if tid not in used:
                return tid
        # every id is live: recycle the oldest missing track's id
        oldest = max(self.tracks, key=lambda t: t.missed)
        self.tracks.remove(oldest)
        return oldest.tid

    def reset(self) -> None:
        self.tracks.clear()
        self._next = 1

    def update(self, inst: Instances, image: np.ndarray) -> np.ndarray:
        n = len(inst)
        small_image = np.ascontiguousarray(image[::_STRIDE, ::_STRIDE])
        sh, sw = small_image.shape[:2]
        small = np.ascontiguousarray(inst.masks[:, ::_STRIDE, ::_STRIDE]) if n else np.zeros((0, sh, sw), bool)
        hsv = cv2.cvtColor(small_image, cv2.COLOR_RGB2HSV) if n else None
        hists = [appearance(small_image, small[i], hsv=hsv) for i in range(n)]
        ids = np.zeros(n, np.int64)
        tracks = self.tracks
        matched_t: set[int] = set()
        matched_d: set[int] = set()
        if n and tracks:
            # a pair is worth its similarity above ``min_similarity``; staying unmatched is worth 0,
            # so a poor pair never displaces a good one just to match more objects
            gain = np.maximum(self._similarity(inst, small, hists) - self.min_similarity, 0.0)
            rows, cols = linear_sum_assignment(-gain)
            for ti, di in zip(rows.tolist(), cols.tolist(), strict=True):
                if gain[ti, di] > 0.0:
                    matched_t.add(ti)
                    matched_d.add(di)
                    self._absorb(tracks[ti], small[di], hists[di], _size(inst, di))
                    ids[di] = tracks[ti].tid
        for ti, t in enumerate(tracks):
            if ti not in matched_t:
                t.missed += 1
                t.since_good += 1
                t.centre = t.centre + t.velocity
        self.tracks = [t for t in tracks if t.missed <= self.max_age]
        for di in range(n):
            if di in matched_d or inst.scores[di] < self.min_score:
                continue
            c = _centre(small[di])
            if c is None:
                continue
            t = _Track(self._new_id(), int(inst.classes[di]), small[di].copy(), c, c.copy(), hists[di],
                       size=_size(inst, di))
            self.tracks.append(t)
            ids[di] = t.tid
        return ids

    def _similarity(self, inst: Instances, small: np.ndarray, hists: list[np.ndarray]) -> np.ndarray:
        """Track x detection similarity; <= 0 means "may not match"."""
        tracks = self.tracks
        n = len(inst)
        sim = np.full((len(tracks), n), -1.0)
        preds = [t.predicted() for t in tracks]
        det_boxes = np.stack([_mask_box(small[i]) for i in range(n)])
        biou = _box_iou(np.stack([p[1] for p in preds]), det_boxes)
        areas = small.reshape(n, -1).sum(axis=1)
        det_c = (det_boxes[:, :2] + det_boxes[:, 2:]) / 2
        for ti, t in enumerate(tracks):
            pm, pbox = preds[ti]
            pa = pm.sum()
            size = max(2.0, float(np.sqrt(max(1, int(t.template.sum())))))
            d2 = (((pbox[:2] + pbox[2:]) / 2 - det_c) ** 2).sum(axis=1)
            near = np.exp(-d2 / (2 * size * size))
            for di in range(n):
                if int(inst.classes[di]) != t.cls:
                    continue
                inter = np.logical_and(pm, small[di]).sum()
                union = pa + areas[di] - inter
                miou = inter / union if union else 0.0
                if t.since_good > 0 and areas[di]:
                    # partly hidden lately: a visible part lying inside the predicted whole counts
                    miou = max(miou, 0.75 * inter / areas[di])
                app = float(np.minimum(t.hist, hists[di]).sum())  # histogram intersection, 0..1
                if miou > 0.05 or near[di] > 0.3:
                    sim[ti, di] = (0.45 * miou + 0.15 * biou[ti, di] + 0.2 * near[di]) / 0.8 * (1 - self.appearance_weight) \
                        + self.appearance_weight * app
                elif t.missed > 0 and app > 0.75:  # re-identify a lost object by appearance
                    sim[ti, di] = self.min_similarity + 0.05 * app
        return sim

    def _absorb(self, t: _Track, small: np.ndarray, hist: np.ndarray, size: np.ndarray) -> None:
        """Take a matched detection in. Only a detection as big as the track's last whole view
        moves the template and the velocity; a partly hidden one is followed by the motion model."""
        c = _centre(small)
        ratio = size / np.maximum(t.size, 1.0)
        whole = bool(np.all(ratio[:2] >= 0.9) and np.all(ratio[:2] <= 1.12) and 0.85 <= ratio[2] <= 1.18)
        if c is not None and (whole or t.since_good > 5):
            if whole and t.since_good == 0 and t.missed == 0:
                t.velocity = (0.5 * t.velocity + 0.5 * (c - t.centre)).astype(np.float32)
            elif whole:  # back after an occlusion: the mean velocity over the gap
                t.velocity = ((c - t.t_centre) / (t.since_good + 1)).astype(np.float32)
            t.template, t.t_centre, t.centre, t.size = small.copy(), c, c.copy(), size
            t.since_good = 0
        else:  # partly hidden: trust the motion model, keep the last whole template
            t.centre = t.centre + t.velocity
            t.since_good += 1
        t.hist = (self.ema * t.hist + (1 - self.ema) * hist).astype(np.float32)
        t.missed = 0
        t.hits += 1


def _size(inst: Instances, i: int) -> np.ndarray:
    b = inst.boxes[i]
    return np.array([b[2] - b[0], b[3] - b[1], inst.masks[i].sum()], np.float32)


def _mask_box(mask: np.ndarray) -> np.ndarray:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if xs.size == 0:
        return np.zeros(4, np.float32)
    return np.array([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], np.float32)


def _centre(mask: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.mean(), ys.mean()], np.float32)


def instances_to_labels(inst: Instances, ids: np.ndarray) -> np.ndarray:
    """An HxW uint8 map of track ids; higher-scoring instances are drawn on top."""
    h, w = inst.masks.shape[1:] if inst.masks.ndim == 3 else (0, 0)
    lab = np.zeros((h, w), np.uint8)
    for i in np.argsort(inst.scores, kind="stable"):
        if ids[i] > 0:
            lab[inst.masks[i]] = ids[i]
    return lab
