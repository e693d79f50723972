"""ClassicalTracker on synthetic scenes with exact ground truth. Each J threshold is one that copying
the first mask (a broken engine) fails, which each test checks too."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.eval.metrics import jaccard as iou
from vidseg.synthetic import Scene, motion_scene
from vidseg.vos.classical import (
    CLASSICAL_PRESETS,
    ClassicalConfig,
    ClassicalTracker,
    get_classical_preset,
)

W, H, N = 192, 144, 30


def scene(kind: str, n: int = N) -> Scene:
    return motion_scene(kind, n, width=W, height=H)


def mean_j(gts, preds, obj, frames=None):
    idx = range(1, len(gts)) if frames is None else frames
    return float(np.mean([iou(preds[t] == obj, gts[t] == obj) for t in idx]))


def test_given_mask_takes_pixels_from_other_objects():
    sc = scene("cross", 4)
    img0, g0 = sc.render(0)
    tracker = ClassicalTracker(CLASSICAL_PRESETS["fast"])
    tracker.step(img0, g0)
    steal = np.zeros_like(g0)
    steal[g0 == 1] = 3
    labels = tracker.step(sc.render(1)[0], steal, objects=[3])
    assert tracker.object_ids == [1, 2, 3]
    assert (labels[g0 == 1] == 3).all()


def test_probabilities_and_reset():
    sc = scene("cross", 3)
    img, gt = sc.render(0)
    tracker = ClassicalTracker()
    tracker.step(img, gt)
    labels = tracker.step(sc.render(1)[0])
    ids, prob = tracker.probabilities()
    assert ids == [1, 2] == tracker.object_ids
    assert prob.shape == (3, *gt.shape) and prob.dtype == np.float32
    np.testing.assert_allclose(prob.sum(axis=0), 1.0, atol=1e-4)
    assert np.array_equal(np.array([0, 1, 2], np.uint8)[prob.argmax(axis=0)] > 0, labels > 0)
    tracker.reset()
    assert tracker.object_ids == []
    with pytest.raises(InputError, match="needs a mask"):
        tracker.step(img)


def test_memory_is_bounded():
    cfg = ClassicalConfig(memory_recent=2, memory_every=1, memory_given=1)
    sc = scene("translate", 12)
    tracker = ClassicalTracker(cfg)
    for t in range(12):
        img, gt = sc.render(t)
        tracker.step(img, gt if t in (0, 3) else None)
    assert len(tracker._memory.given) == 1 and len(tracker._memory.recent) <= 2


def test_presets():
    assert set(CLASSICAL_PRESETS) == {"fast", "default", "accurate"}
    assert get_classical_preset("fast").work_width < get_classical_preset("default").work_width
    with pytest.raises(InputError, match="choose from"):
        get_classical_preset("nope")
    with pytest.raises(InputError, match="flow preset"):
        ClassicalConfig(flow_preset="slow")
    with pytest.raises(InputError, match="work_width"):
        ClassicalConfig(work_width=2)
    with pytest.raises(InputError, match="camera model"):
        ClassicalConfig(camera_model="zoom")
    with pytest.raises(InputError, match="camera_share"):
        ClassicalConfig(camera_share=1.5)


def test_removed_object_is_no_longer_tracked_and_the_others_go_on():
    sc = scene("cross")
    tracker = ClassicalTracker(CLASSICAL_PRESETS["fast"])
    gts, preds = [], []
    for t in range(N):
        img, gt = sc.render(t)
        if t == 4:
            tracker.remove_objects([1])
            assert tracker.object_ids == [2]
            ids, prob = tracker.probabilities()
            assert ids == [2] and prob.shape[0] == 2
        gts.append(gt)
        preds.append(tracker.step(img, gt if t == 0 else None))
    assert all(not (p == 1).any() for p in preds[4:])
    assert mean_j(gts, preds, 2, range(N - 8, N)) > 0.7


def test_config_makes_its_tracker():
    tracker = ClassicalConfig(work_width=160).make_tracker()
    assert isinstance(tracker, ClassicalTracker) and tracker.config.work_width == 160
