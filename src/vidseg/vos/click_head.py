"""The click head: a small trained network on the tracking engine's frozen backbone features
(EfficientNet-Lite0, strides 4/8/16) that reads an object's current mask and the clicks on the
frame (positive and negative disks) and gives the object's probability per pixel, as interactive
segmenters (RITM, MiVOS's S2M) do. Its ``click.onnx`` and ``card.json`` (with the SHA-256) ship
in ``vidseg/vos/click_weights``; ``vidseg train-clicks`` rebuilds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vidseg.models.backbone import Backbone, BackboneFeatures
from vidseg.vos.learned.tracker import _sigmoid, work_size
from vidseg.vos.learned.weights import ort_session, read_card, verified_graph_paths

CLICK_GRAPH = "click"
WORK_SHORT = 240  # px: the short side frames are read at (as the tracking engine's default)
CLICK_RADIUS = 2.5  # stride-4 cells: a click's disk on the network's input maps

#: a click: frame pixel x, y and whether it is positive (on the object)
Click = tuple[float, float, bool]


def shipped_click_dir() -> Path:
    """The folder of the click head's weights that ship with vidseg."""
    return Path(__file__).resolve().parent / "click_weights"


def click_maps(size4: tuple[int, int], clicks: Sequence[Click], radius: float = CLICK_RADIUS) -> np.ndarray:
    """(2, h4, w4) float32 maps of positive and negative clicks, given in stride-4 coordinates:
    1 inside a disk of ``radius`` cells around each, 0 elsewhere (what training draws too)."""
    h4, w4 = size4
    out = np.zeros((2, h4, w4), np.float32)
    if not clicks:
        return out
    yy, xx = np.mgrid[0:h4, 0:w4].astype(np.float32)
    for x, y, positive in clicks:
        disk = (xx - x) ** 2 + (yy - y) ** 2 <= radius * radius
        out[0 if positive else 1][disk] = 1.0
    return out


def input_maps(size4: tuple[int, int], frame_size: tuple[int, int], clicks: Sequence[Click],
               prev: np.ndarray | None = None) -> np.ndarray:
    """The head's (3, h4, w4) float32 input maps: the mask before the clicks (``prev``, HxW bool or
    0..1 at ``frame_size``; None: empty) and the click disks, for ``clicks`` in frame pixels."""
    h4, w4 = size4
    fh, fw = frame_size
    sx, sy = w4 / fw, h4 / fh
    before = np.zeros((1, h4, w4), np.float32) if prev is None else cv2.resize(
        prev.astype(np.float32), (w4, h4), interpolation=cv2.INTER_AREA)[None]
    return np.concatenate([before, click_maps((h4, w4), [(x * sx, y * sy, p) for x, y, p in clicks])])


def drop_specks(mask: np.ndarray, min_share: float = 0.01) -> np.ndarray:
    """``mask`` without the connected parts smaller than ``min_share`` of its area."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= min_share * areas.sum()) + 1
    return np.isin(comp, keep)


def colour_explains(head: np.ndarray, colour: np.ndarray, inside: float = 0.9, grow: float = 6.0) -> bool:
    """Whether a colour segmentation (GrabCut) of a first click is the better mask: it holds the
    head's mask (``inside`` of its pixels) and is at most ``grow`` times its area. The head,
    trained on natural images, finds the whole object where colour alone takes a part of it or
    the background too; on flat, colour-separable graphics (a plain shape on a busy background)
    it can stop short of the edges, which the colour region then reaches."""
    area = int(head.sum())
    return area > 0 and bool(colour.any()) and (head & colour).sum() >= inside * area and colour.sum() <= grow * area


class ClickModel:
    """``probability(frame key, image, clicks, prev)`` -> the object's probability (float32, the
    frame's size); the last few frames' backbone features are kept (a second click on a frame
    costs only the head)."""

    def __init__(self, weights: str | Path | None = None, threads: int = 2, keep: int = 4) -> None:
        folder = Path(weights) if weights else shipped_click_dir()
        self.card = read_card(folder)
        self._session = ort_session(verified_graph_paths(folder, (CLICK_GRAPH,))[CLICK_GRAPH], threads)
        self._backbone: Backbone | None = None
        self.threads = threads
        self.keep = keep
        self._cache: dict[object, BackboneFeatures] = {}

    def features(self, key: object, image: np.ndarray) -> BackboneFeatures:
        """The backbone's features of ``image`` at the working size; ``key`` names it for the cache
        (None: not kept)."""
        got = None if key is None else self._cache.get(key)
        if got is not None:
            return got
        if self._backbone is None:
            self._backbone = Backbone(self.threads)
        h, w = work_size(image.shape[:2], WORK_SHORT)
        feats = self._backbone(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA))
        if key is not None:
            if len(self._cache) >= self.keep:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = feats
        return feats

    def probability(self, key: object, image: np.ndarray, clicks: Sequence[Click],
                    prev: np.ndarray | None = None) -> np.ndarray:
        """The object's probability on ``image`` (RGB HxWx3) after ``clicks`` (frame pixels),
        with ``prev`` (HxW, bool or 0..1) its mask before them (None: nothing yet)."""
        feats = self.features(key, image)
        fh, fw = image.shape[:2]
        maps = input_maps(feats.f4.shape[2:], (fh, fw), clicks, prev)[None]
        logits = self._session.run(None, {"f4": feats.f4, "f8": feats.f8, "f16": feats.f16,
                                          "maps4": maps})[0][0, 0]
        return _sigmoid(cv2.resize(logits, (fw, fh), interpolation=cv2.INTER_LINEAR))
