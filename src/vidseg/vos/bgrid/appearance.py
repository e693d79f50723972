"""Global colour models per object: the log-likelihood ratio of object vs surroundings in Lab."""

from __future__ import annotations

import numpy as np

from vidseg.vos.appearance import band, density, histogram, object_size

_CLIP = 4.0


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
