"""The tracker on synthetic scenes with exact ground truth: each J threshold is one that copying
the first mask (a broken engine) fails, which every test also checks."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.vos import FlowTracker

N = 30


def run(scene, preset="default", prompts=None):
    """Track ``scene`` from its frame-0 mask (or ``prompts``: {t: (mask, objects)}); labels per frame."""
    prompts = prompts if prompts is not None else {0: (scene.render(0)[1], None)}
    tracker = FlowTracker(preset)
    frames, out = [], []
    for t in range(scene.n_frames):
        img, gt = scene.render(t)
        frames.append(gt)
        p = prompts.get(t)
        out.append(tracker.step(img) if p is None else tracker.step(img, p[0], p[1]))
    return frames, out


def mean_j(gts, preds, obj, iou, frames=None):
    idx = range(1, len(gts)) if frames is None else frames
    return float(np.mean([iou(preds[t] == obj, gts[t] == obj) for t in idx]))


@pytest.mark.parametrize("kind", ["translate", "rotate_scale"])
@pytest.mark.parametrize("preset", ["fast", "default"])
def test_follows_moving_object(scene_factory, iou, kind, preset):
    scene = scene_factory(kind, N)
    gts, preds = run(scene, preset)
    copy = mean_j(gts, [gts[0]] * N, 1, iou)
    assert copy < 0.5
    assert mean_j(gts, preds, 1, iou) > 0.9


def test_objects_that_cross_keep_their_ids(scene_factory, iou):
    scene = scene_factory("cross", N)
    gts, preds = run(scene)
    late = range(N - 8, N)  # after the crossing
    for obj in (1, 2):
        assert mean_j(gts, [gts[0]] * N, obj, iou, late) < 0.2
        assert mean_j(gts, preds, obj, iou, late) > 0.7


def test_leaves_and_reenters_frame(scene_factory, iou):
    scene = scene_factory("leave", 40)
    gts, preds = run(scene)
    gone = [t for t in range(40) if not (gts[t] == 1).any()]
    back = [t for t in range(max(gone) + 4, 40)]
    assert gone and back
    # nothing is hallucinated while it is outside the frame
    assert all((preds[t] == 0).all() for t in gone)
    assert mean_j(gts, preds, 1, iou, back) > 0.7


def test_found_again_after_occlusion(scene_factory, iou):
    scene = scene_factory("occlude", N)
    gts, preds = run(scene)
    hidden = [t for t in range(N) if not (gts[t] == 1).any()]
    after = [t for t in range(max(hidden) + 3, N)]
    assert hidden and after
    assert max(int((preds[t] == 1).sum()) for t in hidden) < 0.1 * int((gts[0] == 1).sum())
    assert mean_j(gts, [gts[0]] * N, 1, iou, after) < 0.2
    assert mean_j(gts, preds, 1, iou, after) > 0.7


def test_second_object_given_later(scene_factory, iou):
    scene = scene_factory("cross", N)
    g0 = scene.render(0)[1]
    g5 = scene.render(5)[1]
    first = np.where(g0 == 1, 1, 0).astype(np.uint8)
    second = np.where(g5 == 2, 2, 0).astype(np.uint8)
    gts, preds = run(scene, prompts={0: (first, None), 5: (second, None)})
    assert not (preds[3] == 2).any()  # not known before it is given
    assert np.array_equal(preds[5] == 2, g5 == 2)
    assert mean_j(gts, preds, 2, iou, range(6, N)) > 0.7
    assert mean_j(gts, preds, 1, iou, range(1, N)) > 0.7


def test_correction_replaces_tracked_object(scene_factory, iou):
    scene = scene_factory("translate", N)
    g0 = scene.render(0)[1]
    wrong = np.zeros_like(g0)
    wrong[100:130, 150:185] = 1  # a box in the wrong place
    g10 = scene.render(10)[1]
    gts, preds = run(scene, prompts={0: (wrong, None), 10: (g10, [1])})
    assert mean_j(gts, preds, 1, iou, range(1, 10)) < 0.2
    assert np.array_equal(preds[10], g10)
    assert mean_j(gts, preds, 1, iou, range(11, N)) > 0.9


def test_given_mask_takes_pixels_from_other_objects(scene_factory):
    scene = scene_factory("cross", 4)
    img0, g0 = scene.render(0)
    tracker = FlowTracker("fast")
    tracker.step(img0, g0)
    img1, _ = scene.render(1)
    steal = np.zeros_like(g0)
    steal[g0 == 1] = 3  # object 3 claims all of object 1's pixels
    labels = tracker.step(img1, steal, objects=[3])
    assert tracker.object_ids == [1, 2, 3]
    assert (labels[g0 == 1] == 3).all()


def test_probabilities_and_reset(scene_factory):
    scene = scene_factory("cross", 3)
    img, gt = scene.render(0)
    tracker = FlowTracker("fast")
    tracker.step(img, gt)
    labels = tracker.step(scene.render(1)[0])
    ids, prob = tracker.probabilities()
    assert ids == [1, 2] == tracker.object_ids
    assert prob.shape == (3, *gt.shape) and prob.dtype == np.float32
    np.testing.assert_allclose(prob.sum(axis=0), 1.0, atol=1e-4)
    assert np.array_equal(np.array([0, 1, 2], np.uint8)[prob.argmax(axis=0)] > 0, labels > 0)
    tracker.reset()
    assert tracker.object_ids == []
    with pytest.raises(InputError, match="needs a mask"):
        tracker.step(img)


def test_appearance_memory_has_a_fixed_size(scene_factory):
    from dataclasses import replace

    from vidseg.vos.config import get_preset

    cfg = replace(get_preset("fast"), memory_size=3, memory_every=2)
    scene = scene_factory("translate", 24)
    tracker = FlowTracker(cfg)
    for t in range(scene.n_frames):
        img, gt = scene.render(t)
        tracker.step(img, gt if t == 0 else None)
    obj = tracker._objects[1]
    assert len(obj.memory) == 3  # the given model + the 2 most recent confident ones
    assert len(obj.recent_samples) == 2
