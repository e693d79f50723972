"""Where a person the pose models lost still shows: the selfie segmenter's person probability,
less what the followed people cover, cut into blobs.

The pose models need a face or a clear body to find someone; a child half behind another, face
blurred, is missed for seconds. The selfie segmenter (MediaPipe's landscape model, 256x144) still
sees his shirt and arms. Its blobs never start a person (a pillow can look like one to it): they
only carry on one the landmark model confirmed before, near where that person was last seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

WIDTH, HEIGHT = 256, 144


def person_probability(backend: Any, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The selfie segmenter's person probability for an RGB uint8 frame (best already near the
    model's size: it is resized bilinearly), resized to ``size`` ``(w, h)`` (the frame squeezed
    into the model's 256x144 input whatever its aspect)."""
    x = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR).astype(np.float32) * (1.0 / 255.0)
    out = np.asarray(backend.run(x[None])[0], np.float32).reshape(HEIGHT, WIDTH)
    return cv2.resize(out, size, interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Blob:
    """A connected part of the residual: its ``mask`` (bool, the residual's size), bounding box
    ``x0, y0, x1, y1`` and ``area`` in pixels."""

    mask: np.ndarray
    box: tuple[int, int, int, int]
    area: int

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def residual_blobs(prob: np.ndarray, covered: np.ndarray, *, threshold: float = 0.5, min_area: int = 1,
                   gap: int = 2) -> list[Blob]:
    """The blobs of ``prob > threshold`` outside ``covered`` (bool, grown by ``gap`` pixels so that
    the rims of the followed people do not count), at least ``min_area`` pixels, largest first."""
    cov = covered.astype(np.uint8)
    grown = cv2.dilate(cov, np.ones((2 * gap + 1, 2 * gap + 1), np.uint8)) if gap > 0 else cov
    res = ((prob > threshold) & (grown == 0)).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(res, connectivity=8)
    out = []
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        if area >= min_area:
            out.append(Blob(lab == k, (x, y, x + w, y + h), area))
    return sorted(out, key=lambda b: -b.area)
