"""draw_overlay: exact blending, untouched background, contours, ids, validation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidseg.io import PALETTE, draw_overlay
from vidseg.io.overlay import CONTRAST


def _scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    lab = np.zeros((60, 80), np.uint8)
    lab[10:30, 10:40] = 1
    lab[35:55, 50:75] = 2
    return img, lab


def test_blend_matches_formula_and_background_untouched():
    img, lab = _scene()
    out = draw_overlay(img, lab, alpha=0.4, contours=False)
    bg = lab == 0
    np.testing.assert_array_equal(out[bg], img[bg])
    for obj in (1, 2):
        m = lab == obj
        expected = img[m].astype(np.float64) * 0.6 + PALETTE[obj].astype(np.float64) * 0.4
        assert np.abs(out[m].astype(np.float64) - expected).max() <= 1.0
    assert out is not img and np.array_equal(img, _scene()[0])


def test_contours_are_opaque_palette_colours_on_the_boundary():
    img, lab = _scene()
    out = draw_overlay(img, lab, alpha=0.0, contours=True)
    kernel = np.ones((3, 3), np.uint8)
    edge = cv2.dilate(lab, kernel) != cv2.erode(lab, kernel)
    on = edge & (lab == 1)
    stands_out = np.abs(img.astype(int) - PALETTE[1].astype(int)).max(axis=2) >= CONTRAST
    assert np.all(out[on & stands_out] == PALETTE[1])  # the palette colour where it shows
    assert np.all(np.isin(out[on & ~stands_out], (0, 255)))  # black or white where it would not
    np.testing.assert_array_equal(out[~edge], img[~edge])  # alpha 0: only contours change pixels
    assert edge.sum() > 0


@pytest.mark.parametrize("background", [PALETTE[1], PALETTE[2], (255, 255, 255), (0, 0, 0), (128, 128, 128)])
def test_the_outline_contrasts_with_any_background(background):
    img = np.empty((60, 80, 3), np.uint8)
    img[:] = background  # e.g. a red object (id 1 is red) on a red background
    lab = np.zeros((60, 80), np.uint8)
    lab[20:40, 25:55] = 1
    out = draw_overlay(img, lab, alpha=0.5, contours=True)
    kernel = np.ones((3, 3), np.uint8)
    edge = cv2.dilate(lab, kernel) != cv2.erode(lab, kernel)
    diff = np.abs(out[edge].astype(int) - img[edge].astype(int)).max(axis=1)
    assert diff.min() >= 96


def test_show_ids_writes_text_near_the_centroid():
    img = np.zeros((120, 160, 3), np.uint8)
    lab = np.zeros((120, 160), np.uint8)
    lab[20:100, 20:140] = 3
    plain = draw_overlay(img, lab, contours=False)
    text = draw_overlay(img, lab, contours=False, show_ids=True)
    ys, xs = np.nonzero(np.any(text != plain, axis=2))
    assert ys.size > 0 and abs(xs.mean() - 80) < 10 and abs(ys.mean() - 60) < 10


def test_custom_palette_and_bool_labels():
    img, lab = _scene()
    pal = np.array([[0, 0, 0], [0, 255, 0]], np.uint8)
    out = draw_overlay(img, lab == 1, alpha=1.0, contours=False, palette=pal)
    assert np.all(out[lab == 1] == [0, 255, 0])


@pytest.mark.parametrize(
    ("image", "labels", "alpha"),
    [(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8), 0.5),
     (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), 0.5),
     (np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 300, np.int32), 0.5),
     (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), 1.5)],
)
def test_bad_arguments_raise(image, labels, alpha):
    with pytest.raises(ValueError):
        draw_overlay(image, labels, alpha=alpha)
