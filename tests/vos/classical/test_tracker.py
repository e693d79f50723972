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


def run(sc: Scene, preset: str = "default", prompts=None):
    """Track ``sc`` from its frame-0 mask (or ``prompts``: {t: (mask, objects)})."""
    prompts = prompts if prompts is not None else {0: (sc.render(0)[1], None)}
    tracker = ClassicalTracker(CLASSICAL_PRESETS[preset])
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


@pytest.mark.parametrize("kind", ["translate", "rotate_scale"])
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
    assert all((preds[t] == 0).all() for t in gone)  # nothing hallucinated while it is away
    assert mean_j(gts, [gts[0]] * 40, 1, back) < 0.5
    assert mean_j(gts, preds, 1, back) > 0.7


def test_found_again_after_occlusion():
    sc = scene("occlude")
    gts, preds = run(sc)
    hidden = [t for t in range(N) if not (gts[t] == 1).any()]
    after = list(range(max(hidden) + 3, N))
    assert hidden and after
    assert max(int((preds[t] == 1).sum()) for t in hidden) < 0.1 * int((gts[0] == 1).sum())
    assert mean_j(gts, [gts[0]] * N, 1, after) < 0.2
    assert mean_j(gts, preds, 1, after) > 0.7


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
