"""Local colour classification in a bilateral grid (space x Lab), after Maerki et al. 2016.

The previous frame's soft labels, moved onto the current frame by the flow, are splatted into a
coarse grid indexed by position and colour, blurred there, and read back at each current pixel's
position and colour. A pixel thus takes the labels of nearby pixels of similar colour, which
stops masks from leaking into neighbouring background of another colour where the flow is wrong.
"""

from __future__ import annotations

import numpy as np

from vidseg.vos._ops import channel_sum


class BilateralGrid:
    """A grid over (y, x, L, a, b) for frames of one working size."""

    def __init__(self, height: int, width: int, cell: int, lab_bits: tuple[int, int, int]) -> None:
        self.cell = max(1, int(cell))
        self.bits = lab_bits
        gy = np.arange(height) // self.cell
        gx = np.arange(width) // self.cell
        self.shape = (int(gy[-1]) + 1, int(gx[-1]) + 1, 1 << lab_bits[0], 1 << lab_bits[1], 1 << lab_bits[2])
        n_col = self.shape[2] * self.shape[3] * self.shape[4]
        self._pos = ((gy[:, None] * self.shape[1] + gx[None, :]) * n_col).astype(np.int64)
        self.size = int(np.prod(self.shape))

    def cells(self, lab: np.ndarray) -> np.ndarray:
        """Flat cell index of every pixel of an HxWx3 uint8 Lab image."""
        bl, ba, bb = self.bits
        col = ((lab[..., 0].astype(np.int64) >> (8 - bl)) << (ba + bb)) \
            | ((lab[..., 1].astype(np.int64) >> (8 - ba)) << bb) | (lab[..., 2].astype(np.int64) >> (8 - bb))
        return (self._pos + col).ravel()

    def transfer(self, src_cells: np.ndarray, src_prob: np.ndarray, dst_cells: np.ndarray,
                 weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Splat ``src_prob`` (HxWxC) at ``src_cells``, blur, slice at ``dst_cells``.

        Returns the sliced per-class probabilities (HxWxC, rows sum to 1 where there was support)
        and the support (splatted mass around each pixel, HxW).
        """
        h, w, c = src_prob.shape
        grid = np.empty((c, *self.shape), np.float32)
        flat = src_prob.reshape(-1, c)
        for k in range(c):
            wk = flat[:, k] if weight is None else flat[:, k] * weight.ravel()
            grid[k].reshape(-1)[:] = np.bincount(src_cells, weights=wk, minlength=self.size)
        for axis in range(1, 6):
            grid = _blur_axis(grid, axis)
        vals = grid.reshape(c, -1)[:, dst_cells].T.reshape(h, w, c)
        support = channel_sum(vals)
        return vals / np.maximum(support, 1e-6)[..., None], support


def _blur_axis(g: np.ndarray, axis: int) -> np.ndarray:
    """[1 2 1] / 4 blur along one axis, zero outside."""
    out = g * 0.5
    head = [slice(None)] * g.ndim
    tail = [slice(None)] * g.ndim
    head[axis], tail[axis] = slice(1, None), slice(None, -1)
    out[tuple(head)] += 0.25 * g[tuple(tail)]
    out[tuple(tail)] += 0.25 * g[tuple(head)]
    return out
