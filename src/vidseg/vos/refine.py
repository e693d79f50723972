"""Boundary refinement: a fast guided filter that upsamples soft masks along image edges."""

from __future__ import annotations

import cv2
import numpy as np


class GuidedUpsampler:
    """Fast guided filter (He & Sun 2015): coefficients at low resolution, applied at full."""

    def __init__(self, radius: int, eps: float) -> None:
        self.radius = max(0, int(radius))
        self.eps = float(eps)

    def __call__(self, guide_small: np.ndarray, p: np.ndarray, guide_full: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
        """Filter ``p`` (hxwxC float32) guided by ``guide_small`` (hxw float32 in 0..1).

        Returns the filtered maps at low resolution and, when ``guide_full`` is given, at its size.
        A radius of 0 turns the filter off: ``p`` itself, bilinearly upsampled.
        """
        if self.radius == 0:
            if guide_full is None:
                return p, None
            return p, _resize(p, (guide_full.shape[1], guide_full.shape[0]))
        k = (2 * self.radius + 1,) * 2
        i = guide_small[..., None]
        mean_i = cv2.blur(guide_small, k)[..., None]
        var_i = cv2.blur(guide_small * guide_small, k)[..., None] - mean_i * mean_i
        mean_p = _blur(p, k)
        cov_ip = _blur(p * i, k) - mean_i * mean_p
        a = cov_ip / (var_i + self.eps)
        b = mean_p - a * mean_i
        mean_a, mean_b = _blur(a, k), _blur(b, k)
        small = mean_a * i + mean_b
        if guide_full is None:
            return small, None
        h, w = guide_full.shape
        up_a = _resize(mean_a, (w, h))
        up_b = _resize(mean_b, (w, h))
        full = up_a * guide_full[..., None] + up_b
        return small, full


def _blur(x: np.ndarray, k: tuple[int, int]) -> np.ndarray:
    out = cv2.blur(x, k)
    return out if out.ndim == x.ndim else out[..., None]


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    out = cv2.resize(x, size, interpolation=cv2.INTER_LINEAR)
    return out if out.ndim == x.ndim else out[..., None]
