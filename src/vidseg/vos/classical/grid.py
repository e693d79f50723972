"""A bilateral grid over (y, x, L, a, b): splat soft labels, blur, slice (Maerki et al. 2016).

Pixels that are close in position AND colour share their labels; pixels of another colour a few
cells away do not, so labels do not leak into neighbouring background of a different colour.
"""

from __future__ import annotations

import numpy as np


class LabGrid:
    """A bilateral grid for Lab frames of one working size."""

    def __init__(self, height: int, width: int, cell: int, levels: tuple[int, int, int],
                 ab_step: int, blur: int = 1) -> None:
        self.cell = max(1, int(cell))
        self.height, self.width = int(height), int(width)
        self.levels = levels
        self.ab_step = max(1, int(ab_step))
        self.blur_passes = max(0, int(blur))
        gy = np.arange(height) // self.cell
        gx = np.arange(width) // self.cell
        self.shape = (int(gy[-1]) + 1, int(gx[-1]) + 1, *levels)
        n_col = levels[0] * levels[1] * levels[2]
        self._pos = ((gy[:, None] * self.shape[1] + gx[None, :]) * n_col).astype(np.int32)
        self.size = int(np.prod(self.shape))
        # lookup tables from Lab bytes to levels
        v = np.arange(256)
        self._lut_l = (v * levels[0] // 256).astype(np.int32) * (levels[1] * levels[2])
        self._lut_a = np.clip((v - 128) // self.ab_step + levels[1] // 2, 0, levels[1] - 1).astype(np.int32) \
            * levels[2]
        self._lut_b = np.clip((v - 128) // self.ab_step + levels[2] // 2, 0, levels[2] - 1).astype(np.int32)

    def positions(self, height: int, width: int) -> np.ndarray:
        """The spatial part of the cell index for frames of another size (same cells, scaled)."""
        gy = (np.arange(height) * self.height // height) // self.cell
        gx = (np.arange(width) * self.width // width) // self.cell
        n_col = self.levels[0] * self.levels[1] * self.levels[2]
        return ((gy[:, None] * self.shape[1] + gx[None, :]) * n_col).astype(np.int32)

    def colours(self, lab: np.ndarray) -> np.ndarray:
        """The colour part of the cell index of every pixel of an (...x3) uint8 Lab array."""
        return self._lut_l[lab[..., 0]] + self._lut_a[lab[..., 1]] + self._lut_b[lab[..., 2]]

    def cells(self, lab: np.ndarray) -> np.ndarray:
        """Flat cell index (int32, H*W) of every pixel of an HxWx3 uint8 Lab image at its place."""
        return (self._pos + self.colours(lab)).ravel()

    def cells_at(self, y: np.ndarray, x: np.ndarray, colours: np.ndarray) -> np.ndarray:
        """Flat cell index of pixels at integer positions ``(y, x)`` (inside the frame) with ``colours``."""
        return self._pos[y, x] + colours

    def splat(self, cells: np.ndarray, values: np.ndarray, grid: np.ndarray | None = None,
              weight: float = 1.0) -> np.ndarray:
        """Add ``weight * values`` (N x C) into ``grid`` (a new (C, size) float32 one if None)."""
        c = values.shape[1]
        if grid is None:
            grid = np.zeros((c, self.size), np.float32)
        for k in range(c):
            grid[k] += np.bincount(cells, weights=values[:, k], minlength=self.size) * weight
        return grid

    def blur(self, grid: np.ndarray) -> np.ndarray:
        """[1 2 1]/4 blur along every grid axis, ``blur`` times."""
        g = grid.reshape(grid.shape[0], *self.shape)
        for _ in range(self.blur_passes):
            for axis in range(1, 6):
                g = _blur_axis(g, axis)
        return g.reshape(grid.shape[0], -1)

    @staticmethod
    def slice(grid: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Grid values at ``cells``: N x C float32."""
        return np.ascontiguousarray(grid[:, cells].T)

    def smooth_slicer(self, height: int, width: int) -> SmoothSlicer:
        """A slicer for frames of ``height`` x ``width`` that interpolates bilinearly in space."""
        return SmoothSlicer(self, height, width)


class SmoothSlicer:
    """Slices a grid at every pixel of a frame, bilinearly between the 4 nearest spatial cells
    (nearest in colour), so the result has no blocks at the cell borders."""

    def __init__(self, grid: LabGrid, height: int, width: int) -> None:
        self.grid = grid
        n_col = grid.levels[0] * grid.levels[1] * grid.levels[2]
        axes = []
        for n, small, cells in ((height, grid.height, grid.shape[0]), (width, grid.width, grid.shape[1])):
            f = (np.arange(n) + 0.5) * (small / n) / grid.cell - 0.5
            i0 = np.clip(np.floor(f), 0, cells - 1).astype(np.int32)
            i1 = np.minimum(i0 + 1, cells - 1)
            a = np.clip(f - i0, 0.0, 1.0).astype(np.float32)
            axes.append((i0, i1, a))
        (y0, y1, ay), (x0, x1, ax) = axes
        row = grid.shape[1]
        self.pos = [((yy[:, None] * row + xx[None, :]) * n_col).ravel()
                    for yy in (y0, y1) for xx in (x0, x1)]
        self.weights = [(wy[:, None] * wx[None, :]).ravel().astype(np.float32)
                        for wy in (1 - ay, ay) for wx in (1 - ax, ax)]

    def __call__(self, values: np.ndarray, lab: np.ndarray) -> np.ndarray:
        """Values (C x size) at every pixel of the HxWx3 Lab frame: (H*W) x C float32."""
        col = self.grid.colours(lab).ravel()
        out: np.ndarray | None = None
        for pos, wt in zip(self.pos, self.weights, strict=True):
            v = values[:, pos + col] * wt
            out = v if out is None else out + v
        assert out is not None
        return np.ascontiguousarray(out.T)


def _blur_axis(g: np.ndarray, axis: int) -> np.ndarray:
    if g.shape[axis] < 2:
        return g
    out = g * 0.5
    head = [slice(None)] * g.ndim
    tail = [slice(None)] * g.ndim
    head[axis], tail[axis] = slice(1, None), slice(None, -1)
    out[tuple(head)] += 0.25 * g[tuple(tail)]
    out[tuple(tail)] += 0.25 * g[tuple(head)]
    return out
