"""The click head: its click maps, and the shipped head finds a plain object from one click."""

from __future__ import annotations

import numpy as np

from vidseg.vos.click_head import ClickModel, click_maps


def test_click_maps_are_disks_in_their_channel():
    maps = click_maps((20, 30), [(10.0, 5.0, True), (25.0, 15.0, False)], radius=2.0)
    assert maps[0, 5, 10] == 1 and maps[0, 5, 13] == 0 and maps[1, 15, 25] == 1 and maps[0, 15, 25] == 0
    assert maps[0].sum() == 13 and maps[1].sum() == 13  # the cells within 2 of a cell centre


def test_the_shipped_head_finds_a_plain_object_from_one_click():
    model = ClickModel(threads=1)
    rng = np.random.default_rng(0)
    image = (rng.normal(110, 12, (240, 320, 3))).clip(0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:240, 0:320]
    disc = (xx - 200) ** 2 + (yy - 110) ** 2 <= 50 ** 2
    image[disc] = (200, 40, 40)
    prob = model.probability(0, image, [(200.0, 110.0, True)])
    pred = prob > 0.5
    iou = (pred & disc).sum() / (pred | disc).sum()
    assert iou > 0.7, iou
