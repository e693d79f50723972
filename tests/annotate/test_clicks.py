"""Clicks, boxes and strokes to masks on a synthetic frame with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.annotate.clicks import apply_to_labels, box_mask, click_mask, stroke_mask
from vidseg.errors import InputError
from vidseg.eval.metrics import jaccard
from vidseg.synthetic import demo_scene

from .conftest import Clip


@pytest.fixture(scope="module")
def frame() -> tuple[np.ndarray, np.ndarray, Clip]:
    scene = demo_scene(320, 240, 10, seed=4)
    img, labels = scene.render(0)
    return img, labels, Clip(None, scene)  # type: ignore[arg-type]


def test_first_click_finds_the_object(frame) -> None:
    img, labels, clip = frame
    for obj in (1, 2):
        m = click_mask(img, *clip.interior(0, obj), True)
        assert jaccard(labels == obj, m) > 0.85


def test_corrective_clicks_add_and_remove_locally(frame) -> None:
    img, labels, clip = frame
    truth = labels == 1
    grown = truth | (labels == 2)  # a mask that took the other object too
    fixed = click_mask(img, *clip.interior(0, 2), False, grown)
    assert jaccard(truth, fixed) > jaccard(truth, grown) + 0.2
    shrunk = truth.copy()
    ys, xs = np.nonzero(truth)
    shrunk[:, : int(np.median(xs))] = False  # half of the object is missing
    missing = truth & ~shrunk
    ym, xm = np.argwhere(missing)[len(np.argwhere(missing)) // 2]
    grown_back = click_mask(img, float(xm), float(ym), True, shrunk)
    assert jaccard(truth, grown_back) > jaccard(truth, shrunk) + 0.2
    far = np.zeros_like(truth)
    far[:20, :20] = True  # a click elsewhere never touches pixels outside its window
    edited = click_mask(img, *clip.interior(0, 1), False, truth | far)
    assert edited[:20, :20].all()


def test_box_and_strokes(frame) -> None:
    img, labels, _ = frame
    ys, xs = np.nonzero(labels == 2)
    m = box_mask(img, (xs.min() - 6, ys.min() - 6, xs.max() + 7, ys.max() + 7))
    assert jaccard(labels == 2, m) > 0.7
    s = stroke_mask((240, 320), [(10, 10), (50, 10)], 3)
    assert s[10, 30] and not s[20, 30] and s.sum() < 400
    out = apply_to_labels(labels, 1, s)
    assert (out[s] == 1).all() and not ((out == 1) & ~s).any()


@pytest.mark.parametrize("call, message", [
    (lambda img: click_mask(img, 320, 5, True), "outside the 320x240 frame"),
    (lambda img: click_mask(img, -1, 5, True), "outside"),
    (lambda img: box_mask(img, (10, 10, 11, 50)), "empty"),
    (lambda img: stroke_mask((240, 320), [], 3), "at least one point"),
    (lambda img: stroke_mask((240, 320), [(5, 5)], 0), "radius"),
    (lambda img: stroke_mask((240, 320), [(5000, 5)], 3), "outside"),
])
def test_bad_prompts(frame, call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call(frame[0])


def test_negative_first_click_gives_nothing(frame) -> None:
    assert not click_mask(frame[0], 10, 10, False).any()


def test_corrections_on_a_propagated_frame_follow_the_trackers_probabilities(frame) -> None:
    img, labels, clip = frame
    truth = labels == 1
    prob = np.where(truth, 0.35, 0.02).astype(np.float32)  # the tracker half-saw the object
    half = truth.copy()
    half[:, : int(np.median(np.nonzero(truth)[1]))] = False
    ym, xm = np.argwhere(truth & ~half)[len(np.argwhere(truth & ~half)) // 2]
    grown = click_mask(img, float(xm), float(ym), True, half, probability=prob, expected_area=int(truth.sum()))
    assert np.array_equal(grown, truth)  # the connected region the tracker gave more than 20 % to
    # a separate blob the tracker was sure of, taken for the object: a negative click drops it
    blob = np.zeros_like(truth)
    blob[5:25, 5:25] = True
    sure = np.where(truth | blob, 0.9, 0.02).astype(np.float32)
    dropped = click_mask(img, 15, 15, False, truth | blob, probability=sure)
    assert not dropped[blob].any() and np.array_equal(dropped & truth, truth)
    # a click where the tracker saw nothing falls back to the image: the object is found anyway
    ox, oy = clip.interior(0, 2)
    other = click_mask(img, ox, oy, True, np.zeros_like(truth), probability=np.zeros(truth.shape, np.float32))
    assert jaccard(labels == 2, other) > 0.85
