"""Rotated regions: the crop <-> frame maps are exact inverses, and crops land where they should."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidseg.segment.people.roi import (
    Roi,
    apply_affine,
    crop,
    crop_to_frame,
    frame_to_crop,
    paste,
    roi_from_points,
    roi_pixel_box,
)

ROIS = [Roi(50.0, 40.0, 64.0, 0.0), Roi(33.3, 71.7, 90.5, 0.7), Roi(-10.0, 5.0, 120.0, -2.9), Roi(80.0, 60.0, 8.0, math.pi)]


@pytest.mark.parametrize("roi", ROIS)
@pytest.mark.parametrize("n", [256, 64])
def test_affine_round_trip_is_exact(roi: Roi, n: int) -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(-50, 300, (100, 2))
    back = apply_affine(crop_to_frame(roi, n), apply_affine(frame_to_crop(roi, n), pts))
    np.testing.assert_allclose(back, pts, atol=1e-9)
    # the crop's corners are the ROI's corners, its centre the ROI's centre
    corners = apply_affine(crop_to_frame(roi, n), np.array([[0, 0], [n, 0], [n, n], [0, n]], float))
    np.testing.assert_allclose(corners, roi.corners(), atol=1e-9)
    np.testing.assert_allclose(apply_affine(crop_to_frame(roi, n), np.array([[n / 2, n / 2]])), [[roi.cx, roi.cy]])


@pytest.mark.parametrize(("centre", "top", "angle"), [
    ((100, 100), (100, 60), 0.0),  # head straight up: upright
    ((100, 100), (140, 100), math.pi / 2),  # head to the right: turned a quarter clockwise
    ((100, 100), (100, 140), math.pi),  # upside down
    ((100, 100), (60, 100), -math.pi / 2),
])
def test_roi_from_points_turns_the_head_up(centre: tuple[int, int], top: tuple[int, int], angle: float) -> None:
    roi = roi_from_points(np.array(centre, float), np.array(top, float), margin=1.25)
    assert roi.size == pytest.approx(2 * 1.25 * 40)
    assert math.isclose(math.remainder(roi.angle - angle, 2 * math.pi), 0.0, abs_tol=1e-9)
    # the scale point lies straight above the centre in the crop
    c = apply_affine(frame_to_crop(roi, 256), np.array([centre, top], float))
    assert c[0] == pytest.approx([128, 128])
    assert c[1][0] == pytest.approx(128) and c[1][1] < 128


def test_crop_then_paste_gives_the_region_back() -> None:
    h, w = 120, 160
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 1.5, yy * 2.0, (xx + yy) * 0.7], axis=2).clip(0, 255).astype(np.uint8)
    roi = Roi(80.0, 60.0, 60.0, 0.4)
    c = crop(img, roi, 64)
    # a crop pixel comes from the frame point its centre maps to
    m = crop_to_frame(roi, 64)
    for u, v in [(10, 10), (32, 40), (60, 5)]:
        x, y = apply_affine(m, np.array([[u + 0.5, v + 0.5]]))[0]
        assert abs(float(c[v, u, 0]) - 1.5 * (x - 0.5)) < 2.5
        assert abs(float(c[v, u, 1]) - 2.0 * (y - 0.5)) < 2.5
    # a constant map pasted back covers the rotated square, nothing else
    ones = np.ones((64, 64), np.float32)
    full = paste(ones, roi, (w, h))
    inside = np.abs(apply_affine(frame_to_crop(roi, 64), np.stack([xx.ravel() + 0.5, yy.ravel() + 0.5], 1)) - 32)
    inner = (inside.max(axis=1) < 31).reshape(h, w)
    outer = (inside.max(axis=1) > 33).reshape(h, w)
    assert np.all(full[inner] > 0.99) and np.all(full[outer] < 0.01)
    # the same, at half size and only inside a box
    x0, y0, x1, y1 = roi_pixel_box(roi, (w, h), 0.5)
    part = paste(ones, roi, (w, h), scale=0.5, box=(x0, y0, x1, y1))
    half = paste(ones, roi, (w, h), scale=0.5)
    np.testing.assert_allclose(part, half[y0:y1, x0:x1], atol=1e-6)
    assert half.sum() - part.sum() < 1e-3
