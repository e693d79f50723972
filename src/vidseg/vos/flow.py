"""Dense optical flow (OpenCV DIS) and warping of soft probability maps along it."""

from __future__ import annotations

import cv2
import numpy as np

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


class FlowEstimator:
    """DIS optical flow between two grey frames of one size."""

    def __init__(self, preset: str = "fast") -> None:
        if preset not in _DIS_PRESETS:
            raise ValueError(f"unknown flow preset {preset!r} (choose from {', '.join(_DIS_PRESETS)})")
        self._dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[preset])  # type: ignore[attr-defined]

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Flow ``f`` (HxWx2 float32) with ``src(x) ~ dst(x + f(x))``."""
        return self._dis.calc(src, dst, None)


class Warper:
    """Pulls maps of the previous frame onto the current one along a backward flow."""

    def __init__(self, height: int, width: int) -> None:
        gy, gx = np.mgrid[0:height, 0:width].astype(np.float32)
        self._gx, self._gy = gx, gy

    def maps(self, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sampling maps for ``cv2.remap`` from a current->previous flow."""
        return self._gx + flow[..., 0], self._gy + flow[..., 1]

    @staticmethod
    def warp(values: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Sample ``values`` (HxW or HxWxC float32) at ``maps``; outside the frame gives 0."""
        out = cv2.remap(values, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=0)
        return out if out.ndim == values.ndim else out[..., None]

    def consistency(self, backward: np.ndarray, forward: np.ndarray,
                    maps: tuple[np.ndarray, np.ndarray], sigma: float) -> np.ndarray:
        """Trust in ``backward`` per pixel (0..1) from the forward-backward error."""
        fwd_at = cv2.remap(forward, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err2 = np.sum((backward + fwd_at) ** 2, axis=2)
        return 1.0 / (1.0 + err2 / (sigma * sigma))
