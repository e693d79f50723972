"""A click's region by feature similarity: the pixels of a frame that look, to the tracking
engine's backbone (EfficientNet-Lite0, strides 8 and 16), more like the object on a reference
frame (a user-set one) and the clicked pixel than like that frame's background, connected to the
click. It finds an object the tracker lost, where colour alone (GrabCut) spills over; with the
reference's background as the "object" it finds the look-alike a negative click points at.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from vidseg.models.backbone import Backbone, BackboneFeatures

TOP_K = 8  # a pixel's similarity to a side: the mean of its best matches there
WORK_SHORT = 240  # px: frames are matched at this short side (the backbone's cost falls with the area)
MAX_REF = 3000  # reference pixels per side at most (an even subsample beyond)


class FeatureMatcher:
    """Backbone features of frames (the last few kept) and regions matched between them.

    ``source(key, image)``, when given, supplies the backbone's features of a frame (the click
    head's :meth:`~vidseg.vos.click_head.ClickModel.features`, so the annotation page runs one
    backbone and computes a frame's features once); otherwise the matcher runs its own backbone
    at a short side of ``WORK_SHORT``."""

    def __init__(self, threads: int = 2, keep: int = 4,
                 source: Callable[[object, np.ndarray], BackboneFeatures] | None = None) -> None:
        self._backbone: Backbone | None = None
        self._source = source
        self.threads = threads
        self.keep = keep
        self._cache: dict[object, np.ndarray] = {}

    def features(self, key: object, image: np.ndarray) -> np.ndarray:
        """L2-normalised ``C x h x w`` features (stride 8) of ``image``; ``key`` names it for the
        cache (and for the source's)."""
        got = self._cache.get(key)
        if got is not None:
            return got
        f = self._source(key, image) if self._source is not None else self._own(image)
        f8, f16 = f.f8[0], f.f16[0]
        h, w = f8.shape[1:]
        up = cv2.resize(f16.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
        feats = np.concatenate([f8 / (np.linalg.norm(f8, axis=0, keepdims=True) + 1e-6),
                                up / (np.linalg.norm(up, axis=0, keepdims=True) + 1e-6)])
        feats = feats / np.sqrt(2.0)
        if len(self._cache) >= self.keep:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = feats
        return feats

    def _own(self, image: np.ndarray) -> BackboneFeatures:
        if self._backbone is None:
            self._backbone = Backbone(self.threads)
        h, w = image.shape[:2]
        s = WORK_SHORT / min(h, w)
        if s < 1:
            image = cv2.resize(image, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        return self._backbone(image)

    def region(self, ref: np.ndarray, ref_mask: np.ndarray, target: np.ndarray, x: int, y: int,
               size: tuple[int, int]) -> np.ndarray:
        """The object on the frame of features ``target`` around frame pixel (``x``, ``y``), given
        its mask ``ref_mask`` (bool, frame size) on the frame of features ``ref``; bool ``size``."""
        c, h, w = target.shape
        fh, fw = size
        small = cv2.resize(ref_mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_AREA) > 0
        ref_flat = ref.reshape(c, -1).T
        obj, bg = ref_flat[small.ravel()], ref_flat[~small.ravel()]
        cx, cy = min(w - 1, int(x * w / fw)), min(h - 1, int(y * h / fh))
        obj = np.concatenate([_subsample(obj), target[:, cy, cx][None]])
        bg = _subsample(bg)
        if len(bg) < TOP_K or len(obj) < 2:
            return np.zeros(size, bool)
        pix = target.reshape(c, -1).T
        score = _top_mean(pix @ obj.T) - _top_mean(pix @ bg.T)
        score = score.reshape(h, w)
        score[cy, cx] = max(score[cy, cx], 1e-3)
        up = cv2.resize(score.astype(np.float32), (fw, fh), interpolation=cv2.INTER_LINEAR)
        n, comp = cv2.connectedComponents((up > 0).astype(np.uint8), connectivity=8)
        k = comp[min(fh - 1, y), min(fw - 1, x)]
        return comp == k if k else np.zeros(size, bool)


def _subsample(rows: np.ndarray) -> np.ndarray:
    if len(rows) <= MAX_REF:
        return rows
    return rows[np.linspace(0, len(rows) - 1, MAX_REF).astype(int)]


def _top_mean(sim: np.ndarray) -> np.ndarray:
    k = min(TOP_K, sim.shape[1])
    return np.partition(sim, sim.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
