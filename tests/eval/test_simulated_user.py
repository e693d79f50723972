"""The simulated user of the interactive benchmarks and the click head's training."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.eval.simulated_user import correction_click, interior_point


def square_mask(h=40, w=60, y0=10, y1=30, x0=20, x1=50):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_interior_point_is_the_deepest_pixel_or_a_deep_one():
    m = square_mask()
    x, y = interior_point(m)
    assert y in (19, 20) and 29 <= x <= 40  # on the ridge 10 px from the top and the bottom
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = interior_point(m, rng)
        assert 24 <= x < 46 and 14 <= y < 26  # at least half as deep as the deepest


@pytest.mark.parametrize(("pred", "positive"), [
    (square_mask(x1=30), True),  # the right part missed: a positive click in it
    (square_mask() | square_mask(y0=0, y1=8, x0=0, x1=30), False),  # a wrong band on top: a negative click in it
])
def test_correction_click_is_on_the_largest_error(pred, positive):
    gt = square_mask()
    x, y, pos = correction_click(gt, pred)
    assert pos is positive and (gt[int(y), int(x)] if positive else pred[int(y), int(x)] and not gt[int(y), int(x)])


def test_no_correction_for_a_right_mask():
    assert correction_click(square_mask(), square_mask()) is None
