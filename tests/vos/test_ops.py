"""The small array helpers the trackers share."""

from __future__ import annotations

import numpy as np

from vidseg.vos._ops import block_mean


def test_block_mean_averages_blocks_of_the_last_two_axes_and_drops_remainders():
    x = np.arange(2 * 5 * 9, dtype=np.float32).reshape(2, 5, 9)
    out = block_mean(x, 2)
    assert out.shape == (2, 2, 4)
    assert out[1, 1, 3] == x[1, 2:4, 6:8].mean()
    assert block_mean(np.ones((8, 8), np.float32), 4).tolist() == [[1.0, 1.0], [1.0, 1.0]]
