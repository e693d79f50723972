"""LearnedTracker (the shipped weights) on synthetic scenes with exact ground truth: the same
thresholds the classical engine meets, each one that copying the first mask (a broken engine)
fails, which each test checks too."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.eval.metrics import jaccard as iou
from vidseg.synthetic import Scene, motion_scene
from vidseg.vos.learned import LEARNED_PRESETS, LearnedConfig, LearnedTracker, get_learned_preset
from vidseg.vos.learned.tracker import aggregate, work_size

W, H, N = 192, 144, 30


@functools.cache
def tracker_for(preset: str) -> LearnedTracker:
    return LearnedTracker(LEARNED_PRESETS[preset])


def scene(kind: str, n: int = N) -> Scene:
    return motion_scene(kind, n, width=W, height=H)


def run(sc: Scene, preset: str = "default", prompts=None):
    prompts = prompts if prompts is not None else {0: (sc.render(0)[1], None)}
    tracker = tracker_for(preset)
    tracker.reset()
    gts, preds = [], []
    for t in range(sc.n_frames):
        img, gt = sc.render(t)
        gts.append(gt)
        p = prompts.get(t)
        preds.append(tracker.step(img) if p is None else tracker.step(img, p[0], p[1]))
    return gts, preds


def mean_j(gts, preds, obj, frames=None):
    idx = range(1, len(gts)) if frames is None else frames
    return float(np.mean([iou(preds[t] == obj, gts[t] == obj) for t in idx]))


MISSED = pytest.mark.xfail(strict=True, reason="known miss of the shipped weights (issue 8's closing "
                           "note): petal tips whose colours the given frame never showed are lost")


@pytest.mark.parametrize("kind", ["translate", pytest.param("rotate_scale", marks=MISSED)])
@pytest.mark.parametrize("preset", ["fast", "default", "accurate"])
def test_follows_moving_object(kind, preset):
    sc = scene(kind)
    gts, preds = run(sc, preset)
    assert mean_j(gts, [gts[0]] * N, 1) < 0.5
    assert mean_j(gts, preds, 1) > 0.85


def test_crossing_objects_keep_their_ids():
    sc = scene("cross")
    gts, preds = run(sc)
    late = range(N - 8, N)
    for obj in (1, 2):
        assert mean_j(gts, [gts[0]] * N, obj, late) < 0.2
        assert mean_j(gts, preds, obj, late) > 0.7


def test_leaves_and_reenters_frame():
    sc = scene("leave", 40)
    gts, preds = run(sc)
    gone = [t for t in range(40) if not (gts[t] == 1).any()]
    back = list(range(max(gone) + 4, 40))
    assert gone and back
    assert np.mean([(preds[t] == 1).mean() for t in gone]) < 0.01
    assert mean_j(gts, [gts[0]] * 40, 1, back) < 0.5
    assert mean_j(gts, preds, 1, back) > 0.7


def test_found_again_after_occlusion():
    sc = scene("occlude")
    gts, preds = run(sc)
    hidden = [t for t in range(N) if not (gts[t] == 1).any()]
    after = list(range(max(hidden) + 3, N))
    assert hidden and after
    assert mean_j(gts, [gts[0]] * N, 1, after) < 0.2
    assert mean_j(gts, preds, 1, after) > 0.7


@pytest.mark.xfail(strict=True, reason="known miss of the shipped weights (issue 8's closing note): "
                   "object 2, given on frame 5 of a crossing, is confused with object 1 after they cross")
def test_second_object_given_later():
    sc = scene("cross")
    g0, g5 = sc.render(0)[1], sc.render(5)[1]
    first = np.where(g0 == 1, 1, 0).astype(np.uint8)
    second = np.where(g5 == 2, 2, 0).astype(np.uint8)
    gts, preds = run(sc, prompts={0: (first, None), 5: (second, None)})
    assert not (preds[3] == 2).any()
    assert np.array_equal(preds[5] == 2, g5 == 2)
    assert mean_j(gts, [g5] * N, 2, range(N - 8, N)) < 0.2
    assert mean_j(gts, preds, 2, range(N - 8, N)) > 0.7
    assert mean_j(gts, preds, 1, range(1, N)) > 0.7


def test_correction_replaces_tracked_object():
    sc = scene("translate")
    g0 = sc.render(0)[1]
    wrong = np.zeros_like(g0)
    wrong[100:130, 150:185] = 1
    g10 = sc.render(10)[1]
    gts, preds = run(sc, prompts={0: (wrong, None), 10: (g10, [1])})
    assert mean_j(gts, preds, 1, range(1, 10)) < 0.2
    assert np.array_equal(preds[10], g10)
    assert mean_j(gts, [g10] * N, 1, range(11, N)) < 0.5
    assert mean_j(gts, preds, 1, range(11, N)) > 0.85


def test_probabilities_and_reset():
    sc = scene("cross", 3)
    img, gt = sc.render(0)
    tracker = tracker_for("default")
    tracker.reset()
    tracker.step(img, gt)
    labels = tracker.step(sc.render(1)[0])
    ids, prob = tracker.probabilities()
    assert ids == [1, 2] == tracker.object_ids
    assert prob.shape == (3, *gt.shape) and prob.dtype == np.float32
    np.testing.assert_allclose(prob.sum(axis=0), 1.0, atol=1e-4)
    assert np.array_equal(np.array([0, 1, 2], np.uint8)[prob.argmax(axis=0)], labels)
    tracker.reset()
    assert tracker.object_ids == []
    with pytest.raises(InputError, match="needs a mask"):
        tracker.step(img)


def test_memory_is_bounded_on_a_long_clip():
    cfg = LearnedConfig(memory_every=1, memory_work=2, long_term=64, long_term_per_frame=16)
    tracker = LearnedTracker(cfg)
    sc = scene("translate", 40)
    sizes = []
    for t in range(40):
        img, gt = sc.render(t)
        tracker.step(img, gt if t == 0 else None)
        sizes.append(len(tracker._memory))
    assert sizes[-1] == max(sizes[20:]) and sizes[-1] <= sizes[25]


def test_helpers_and_presets():
    assert work_size((480, 854), 240) == (240, 432)
    assert work_size((144, 192), 240) == (240, 320)
    p = aggregate(np.array([[0.9, 0.1], [0.8, 0.1]], np.float32))
    np.testing.assert_allclose(p.sum(0), 1.0, atol=1e-5)
    assert p[:, 1].argmax() == 0 and p[:, 0].argmax() == 1
    assert get_learned_preset("fast").work_short < get_learned_preset("accurate").work_short
    with pytest.raises(InputError, match="choose from"):
        get_learned_preset("nope")
    with pytest.raises(InputError, match="multiple of 16"):
        LearnedConfig(work_short=250)


def test_keep_near_drops_look_alikes_far_from_the_object():
    from vidseg.vos.learned.tracker import keep_near

    logits = -np.ones((60, 108), np.float32)
    logits[10:20, 10:20] = 5  # the object, moved one cell
    logits[40:55, 80:100] = 5  # a look-alike far away
    prev = np.zeros_like(logits)
    prev[9:19, 9:19] = 1
    out = keep_near(logits, prev, 0.25)
    assert (out[10:20, 10:20] == 5).all()
    assert (out[42:53, 82:98] < 0).all()
    lost = np.zeros_like(logits)  # a lost object may come back anywhere
    assert np.array_equal(keep_near(logits, lost, 0.25), logits)
