"""Fast reductions over the channel (last) axis of small-channel HxWxC arrays, the background
channel of object probabilities, and block means over the two spatial (last) axes.

numpy's ``sum(axis=2)`` on an HxWx2 array is several times slower than adding the channel
planes one by one, and the tracker does this on every frame.
"""

from __future__ import annotations

import numpy as np


def channel_sum(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=-1)`` for a few channels."""
    out = x[..., 0].copy()
    for c in range(1, x.shape[-1]):
        out += x[..., c]
    return out


def channel_max(x: np.ndarray) -> np.ndarray:
    """``x.max(axis=-1)`` for a few channels."""
    out = x[..., 0].copy()
    for c in range(1, x.shape[-1]):
        np.maximum(out, x[..., c], out=out)
    return out


def with_background(obj: np.ndarray, power: float = 1.0) -> np.ndarray:
    """HxWxK object probabilities -> HxWx(K+1) with background (1 - their clipped sum) first,
    raised to ``power`` (> 1 sharpens) and normalised per pixel."""
    obj = np.clip(obj, 0.0, 1.0)
    bg = np.clip(1.0 - channel_sum(obj), 0.0, 1.0)[..., None]
    p = np.concatenate([bg, obj], axis=2)
    if power != 1.0:
        p = p ** power
    p /= np.maximum(channel_sum(p), 1e-6)[..., None]
    return p.astype(np.float32)


def plane_argmax(planes: np.ndarray) -> np.ndarray:
    """``planes.argmax(axis=0)`` as uint8 for a few (C, H, W) planes (a plane-by-plane scan is
    several times faster than numpy's strided reduction)."""
    best = planes[0].copy()
    idx = np.zeros(best.shape, np.uint8)
    for c in range(1, planes.shape[0]):
        better = planes[c] > best
        idx[better] = c
        np.maximum(best, planes[c], out=best)
    return idx


def block_mean(x: np.ndarray, k: int) -> np.ndarray:
    """The means of ``k`` x ``k`` blocks over the last two axes (``(..., H, W)`` ->
    ``(..., H // k, W // k)``; a remainder row or column is left out)."""
    h, w = x.shape[-2] // k, x.shape[-1] // k
    return x[..., :h * k, :w * k].reshape(*x.shape[:-2], h, k, w, k).mean((-3, -1))
