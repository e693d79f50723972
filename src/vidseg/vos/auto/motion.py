"""Motion the camera does not explain: dense optical flow (DIS) between two frames at a low
resolution, the background's motion fitted as a homography with RANSAC, and the residual.

:func:`camera_residual` gives a 0..1 map (1: moving unlike the background). It is the cue of the
motion-only method (no learned parts) and can be fused with the learned head.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from vidseg.io.source import VideoReader
from vidseg.vos.classical.flow import FlowEstimator

WORK_SHORT = 120  # short side of the frames the flow is computed on
GRID = 8  # flow sampled every GRID px for the homography fit


def _gray(image: np.ndarray, short: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = short / min(h, w)
    size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return cv2.resize(g, size, interpolation=cv2.INTER_AREA)


class MotionResidual:
    """``residual(image)`` -> the camera-compensated motion of ``image`` against the frame given
    before it (zeros on the first frame), at ``work_short`` px short side."""

    def __init__(self, work_short: int = WORK_SHORT) -> None:
        self.work_short = work_short
        self._flow = FlowEstimator("ultrafast")
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, image: np.ndarray) -> np.ndarray:
        gray = _gray(image, self.work_short)
        prev, self._prev = self._prev, gray
        if prev is None or prev.shape != gray.shape:
            return np.zeros(gray.shape, np.float32)
        return camera_residual(prev, gray, self._flow)


def camera_residual(prev: np.ndarray, gray: np.ndarray, flow_of: FlowEstimator | None = None) -> np.ndarray:
    """0..1 residual motion of ``gray`` against ``prev`` (same-size uint8 grey images) once the
    background's homography (RANSAC on the flow) is taken out; scaled by the residual's own
    spread so that a shaky camera does not light up the whole frame."""
    flow = (flow_of or FlowEstimator("ultrafast"))(gray, prev)  # where each pixel of gray was in prev
    h, w = gray.shape
    ys, xs = np.mgrid[GRID // 2:h:GRID, GRID // 2:w:GRID]
    src = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    dst = src + flow[ys.ravel(), xs.ravel()]
    hom, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0) if len(src) >= 8 else (None, None)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    if hom is None:
        cam = np.zeros_like(flow)
    else:
        pts = cv2.perspectiveTransform(np.stack([gx, gy], -1).reshape(-1, 1, 2), hom).reshape(h, w, 2)
        cam = pts - np.stack([gx, gy], -1)
    r = np.linalg.norm(flow - cam, axis=2)
    scale = max(0.5, 3.0 * float(np.median(r)))
    return (1.0 - np.exp(-((r / scale) ** 2))).astype(np.float32)


def key_frame_motion(reader: VideoReader, gap: int = 2, work_short: int = WORK_SHORT
                     ) -> Callable[[int, np.ndarray], np.ndarray]:
    """A first-pass cue with no learned parts: frame ``t``'s residual motion against frame
    ``t + gap`` (``t - gap`` at the end), smoothed so that an object's parts join."""
    n = len(reader)

    def cue(t: int, image: np.ndarray) -> np.ndarray:
        other = t + gap if t + gap < n else max(0, t - gap)
        if other == t:
            return np.zeros(_gray(image, work_short).shape, np.float32)
        r = camera_residual(_gray(reader.read(other).image, work_short), _gray(image, work_short))
        return cv2.GaussianBlur(r, (0, 0), 2.0)

    return cue
