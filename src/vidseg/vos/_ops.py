"""Fast reductions over the channel (last) axis of small-channel HxWxC arrays.

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
