"""Flow-aligned temporal smoothing of per-frame probabilities (removes flicker, no lag).

The previous smoothed probabilities are warped into the current frame by DIS optical flow
computed at low resolution, then blended with the current ones: ``out = a * cur + (1 - a) * prev``.
The weight ``a`` is ``alpha`` where the warp explains the image well and rises to 1 where it does
not (occlusions, fast motion, new objects), so moving objects follow the current frame.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from vidseg.errors import ArgumentError


class TemporalSmoother:
    """Recursive flow-aligned smoothing of ``(C, h, w)`` probability maps."""

    def __init__(self, *, alpha: float = 0.4, flow_width: int = 160, error_scale: float = 64.0) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ArgumentError("alpha must be in (0, 1]")
        self.alpha = alpha
        self.flow_width = flow_width
        self.error_scale = error_scale
        self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._prev_gray: np.ndarray | None = None
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        self._prev_gray = None
        self._prev = None

    def _gray(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        fw = min(self.flow_width, w)
        fh = max(8, round(h * fw / w))
        small = cv2.resize(image, (fw, fh), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)

    def step(self, image: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Smoothed ``(C, h, w)`` probabilities for the RGB frame ``image`` (maps cover the frame)."""
        gray = self._gray(image)
        prev, prev_gray = self._prev, self._prev_gray
        self._prev_gray = gray
        if prev is None or prev_gray is None or prev.shape != probs.shape or prev_gray.shape != gray.shape:
            self._prev = probs.copy()
            return probs
        flow = np.zeros((*gray.shape, 2), np.float32)
        flow = np.asarray(self._dis.calc(gray, prev_gray, flow), np.float32)  # gray(x) ~ prev_gray(x + flow(x))
        gh, gw = gray.shape
        xx, yy = _grid(gh, gw)
        mx, my = xx + flow[..., 0], yy + flow[..., 1]
        warped_gray = cv2.remap(prev_gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = cv2.blur(cv2.absdiff(gray, warped_gray).astype(np.float32), (5, 5))
        a_small = (self.alpha + (1.0 - self.alpha) * np.clip(err / self.error_scale, 0.0, 1.0)).astype(np.float32)
        # flow and weight at the probability maps' resolution
        c, h, w = probs.shape
        sx, sy = w / gw, h / gh
        fx = cv2.resize(flow[..., 0], (w, h), interpolation=cv2.INTER_LINEAR) * sx
        fy = cv2.resize(flow[..., 1], (w, h), interpolation=cv2.INTER_LINEAR) * sy
        a = cv2.resize(a_small, (w, h), interpolation=cv2.INTER_LINEAR)
        px, py = _grid(h, w)
        map_x, map_y = px + fx, py + fy
        out = np.empty_like(probs)
        for k in range(c):
            wp = cv2.remap(prev[k], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            out[k] = a * probs[k] + (1.0 - a) * wp
        self._prev = out
        return out


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel x and y coordinate grids (float32, cached, read-only)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = False
    gy.flags.writeable = False
    return gx, gy
