"""Dense optical flow between two grey frames (OpenCV DIS)."""

from __future__ import annotations

import cv2
import numpy as np

from vidseg.errors import ArgumentError

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class FlowEstimator:
    """DIS optical flow between two grey frames of one size."""

    def __init__(self, preset: str = "fast") -> None:
        if preset not in _DIS_PRESETS:
            raise ArgumentError(f"unknown flow preset {preset!r} (choose from {', '.join(_DIS_PRESETS)})")
        self._dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])  # type: ignore[attr-defined]

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Flow ``f`` (HxWx2 float32) with ``src(x) ~ dst(x + f(x))``."""
        return self._dis.calc(src, dst, None)
