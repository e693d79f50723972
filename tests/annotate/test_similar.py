"""Regions by backbone feature similarity to a user-set frame, on a generated clip."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.annotate.clicks import click_mask
from vidseg.annotate.similar import FeatureMatcher
from vidseg.eval.metrics import jaccard
from vidseg.synthetic import demo_scene
from vidseg.vos.click_head import ClickModel


@pytest.fixture(scope="module", params=["own", "click head's"])
def matcher(request: pytest.FixtureRequest) -> FeatureMatcher:
    """The matcher with its own backbone, or fed the click head's features (as the page runs it)."""
    if request.param == "own":
        return FeatureMatcher(threads=1)
    head = ClickModel(threads=1)
    m = FeatureMatcher(source=head.features)
    m.head = head  # type: ignore[attr-defined]
    return m


@pytest.mark.parametrize("obj", [1, 2])
def test_a_click_finds_the_object_that_looks_like_the_reference(matcher: FeatureMatcher, obj: int) -> None:
    scene = demo_scene(320, 240, 12, seed=4)
    (ref_img, ref_lab), (img, lab) = scene.render(0), scene.render(8)
    ref_mask, truth = ref_lab == obj, lab == obj
    ref = matcher.features((0, "a"), ref_img)
    target = matcher.features((8, "a"), img)
    assert matcher.features((8, "a"), img) is target  # kept
    head = getattr(matcher, "head", None)
    if head is not None:  # one backbone run per frame for both, none of the matcher's own
        assert matcher._backbone is None and head.features((8, "a"), img).f8.shape[2:] == target.shape[1:]
    ys, xs = np.nonzero(truth)
    k = len(ys) // 2
    found = matcher.region(ref, ref_mask, target, int(xs[k]), int(ys[k]), truth.shape)
    assert jaccard(truth, found) > 0.6
    # a negative click on the other object: the region that looks like the reference's background
    other = (lab != obj) & (lab > 0)
    oy, ox = np.argwhere(other)[len(np.argwhere(other)) // 2]
    away = matcher.region(ref, ~ref_mask, target, int(ox), int(oy), truth.shape)
    assert away[oy, ox] and (away & other).sum() > 0.9 * other.sum()

    def similar(x: int, y: int, positive: bool) -> np.ndarray:
        return matcher.region(ref, ref_mask if positive else ~ref_mask, target, x, y, truth.shape)

    # through click_mask: the tracker lost the object, a positive click brings it back ...
    back = click_mask(img, float(xs[k]), float(ys[k]), True, np.zeros_like(truth), expected_area=int(ref_mask.sum()),
                      similar=similar)
    assert jaccard(truth, back) > 0.6
    # ... it took the look-alike too, a negative click on it takes it away and keeps the object
    fixed = click_mask(img, float(ox), float(oy), False, truth | other, expected_area=int(ref_mask.sum()),
                       similar=similar)
    assert (fixed & truth).sum() > 0.95 * truth.sum() and (fixed & other).sum() < 0.1 * other.sum()
