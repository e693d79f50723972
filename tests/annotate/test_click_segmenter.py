"""The click head at the annotation page: clicks on one object of one frame add up until the
mask changes some other way, and a result that ignores the click is refused."""

from __future__ import annotations

import numpy as np

from vidseg.annotate.click_segmenter import ClickSegmenter


class FakeModel:
    """A disk of radius 10 around every positive click, minus one around every negative click."""

    def __init__(self) -> None:
        self.calls: list[tuple[list, np.ndarray | None]] = []

    def probability(self, key, image, clicks, prev):
        self.calls.append((list(clicks), None if prev is None else np.array(prev)))
        h, w = image.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        out = np.zeros((h, w), np.float32) if prev is None else np.asarray(prev, np.float32).copy()
        for x, y, positive in clicks:
            disk = (xx - x) ** 2 + (yy - y) ** 2 <= 100
            out[disk] = 1.0 if positive else 0.0
        return out


IMAGE = np.zeros((60, 80, 3), np.uint8)


def test_clicks_on_a_frame_add_up_until_the_mask_changes_otherwise():
    fake = FakeModel()
    seg = ClickSegmenter(fake, colour=None)  # type: ignore[arg-type]
    empty = np.zeros((60, 80), bool)
    first = seg.mask(0, 1, IMAGE, (20, 20, True), empty)
    assert first is not None and first[20, 20] and fake.calls[-1] == ([(20, 20, True)], None)
    second = seg.mask(0, 1, IMAGE, (50, 30, True), first)
    assert second is not None and second[20, 20] and second[30, 50]
    assert fake.calls[-1][0] == [(20, 20, True), (50, 30, True)] and fake.calls[-1][1] is None
    brushed = second.copy()
    brushed[0:5, 0:5] = True  # another edit: the clicks start over from this mask
    seg.mask(0, 1, IMAGE, (60, 40, True), brushed)
    assert fake.calls[-1][0] == [(60, 40, True)] and (fake.calls[-1][1] == brushed).all()
    seg.mask(1, 1, IMAGE, (20, 20, True), empty)  # another frame has its own clicks
    assert fake.calls[-1][0] == [(20, 20, True)]


def test_a_propagated_frame_starts_from_the_trackers_probability():
    fake = FakeModel()
    seg = ClickSegmenter(fake, colour=None)  # type: ignore[arg-type]
    prob = np.zeros((60, 80), np.float32)
    prob[10:30, 10:30] = 0.9
    got = seg.mask(3, 1, IMAGE, (20, 20, False), prob > 0.5, prob)
    assert got is not None and not got[20, 20] and got[11, 11]
    assert fake.calls[-1][1] is not None and np.allclose(fake.calls[-1][1], prob)


def test_a_result_that_ignores_the_click_is_refused():
    class Ignores(FakeModel):
        def probability(self, key, image, clicks, prev):
            return np.zeros(image.shape[:2], np.float32)

    assert ClickSegmenter(Ignores(), colour=None).mask(0, 1, IMAGE, (20, 20, True), np.zeros((60, 80), bool)) is None  # type: ignore[arg-type]


def test_later_clicks_edit_the_colour_region_a_first_click_took():
    fake = FakeModel()
    region = np.zeros((60, 80), bool)
    region[5:40, 5:40] = True  # holds the head's disk around (20, 20) and is not too large
    seg = ClickSegmenter(fake, colour=lambda image, x, y: region)  # type: ignore[arg-type]
    first = seg.mask(0, 1, IMAGE, (20, 20, True), np.zeros((60, 80), bool))
    assert first is not None and np.array_equal(first, region)
    seg.mask(0, 1, IMAGE, (60, 50, True), first)
    assert fake.calls[-1][0] == [(60, 50, True)] and np.array_equal(fake.calls[-1][1], region)
