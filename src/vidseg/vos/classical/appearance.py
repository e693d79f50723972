"""Global colour models per object: smoothed joint Lab histograms of an object and of its
surroundings, and the log-likelihood ratio of the two per colour bin."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

_CLIP = 4.0


def quantize_lab(lab: np.ndarray, bins: int) -> np.ndarray:
    """Joint Lab bin index (HxW int32 in ``[0, bins**3)``) of a Lab uint8 image."""
    shift = 8 - int(np.log2(bins))
    q = np.right_shift(np.asarray(lab, np.uint8), shift).astype(np.int32)
    return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]


def histogram(idx: np.ndarray, weights: np.ndarray, bins: int) -> np.ndarray:
    """Weighted histogram of bin indices, ``bins**3`` float64 counts."""
    return np.bincount(idx.ravel(), weights=weights.ravel().astype(np.float64), minlength=bins**3)


def density(counts: np.ndarray, bins: int, smooth: float = 0.8, alpha: float = 1e-3) -> np.ndarray:
    """Normalised, smoothed colour density from histogram counts (never exactly zero)."""
    total = counts.sum()
    p = counts / total if total > 0 else np.full_like(counts, 1.0 / counts.size)
    p = gaussian_filter(p.reshape(bins, bins, bins), smooth, mode="constant").ravel()
    p = p / max(p.sum(), 1e-12)
    return (1.0 - alpha) * p + alpha / p.size


def band(mask: np.ndarray, width: int) -> np.ndarray:
    """A ring of ``width`` pixels around ``mask`` (bool HxW), excluding the mask."""
    k = 2 * max(1, width) + 1
    dil = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return (dil > 0) & ~mask


def object_size(area: float) -> float:
    """A length scale (pixels) of an object of ``area`` pixels."""
    return float(np.sqrt(max(area, 1.0)))


def colour_llr(idx: np.ndarray, fg: np.ndarray, bins: int, band_width: float = 0.3) -> np.ndarray:
    """Lookup table (``bins**3`` float32) of log p(colour | object) / p(colour | surroundings).

    ``idx`` holds each pixel's joint Lab bin, ``fg`` the object's pixels. The surroundings mix a
    band around the object (the background it must be told apart from) and the whole background.
    """
    fg = fg.astype(bool)
    ring = band(fg, int(round(band_width * object_size(float(fg.sum())))))
    p_obj = density(histogram(idx, fg.astype(np.float32), bins), bins)
    p_ring = density(histogram(idx, ring.astype(np.float32), bins), bins)
    p_bg = density(histogram(idx, (~fg).astype(np.float32), bins), bins)
    llr = np.log(p_obj) - np.log(0.5 * p_ring + 0.5 * p_bg)
    return np.clip(llr, -_CLIP, _CLIP).astype(np.float32)
