"""Every tracking engine on the same synthetic scenes with exact ground truth, by engine name.
Each J threshold is one that copying the first mask (a broken engine) fails, which each test
checks too. The learned engine misses two of the classical engine's thresholds: those cases are
strict xfails with the reason (issue 8)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from vidseg.eval.metrics import jaccard as iou
from vidseg.synthetic import Scene
from vidseg.vos.engines import make_tracker
from vidseg.vos.stepping import Tracker

from .vos_helpers import make_scene

N = 30
CLASSICAL = ("classical-fast", "classical", "classical-accurate")
LEARNED = ("fast", "default", "accurate")
MISSED = "known miss of the shipped learned weights (issue 8's closing note): "


@functools.cache
def tracker_for(engine: str) -> Tracker:
    return make_tracker(engine)


def run(sc: Scene, engine: str, prompts=None, remove_at=None):
    """Track ``sc`` from its frame-0 mask (or ``prompts``: {t: (mask, objects)}); ``remove_at``
    {t: ids} removes objects before frame t's step."""
    prompts = prompts if prompts is not None else {0: (sc.render(0)[1], None)}
    tracker = tracker_for(engine)
    tracker.reset()
    gts, preds = [], []
    for t in range(sc.n_frames):
        img, gt = sc.render(t)
        gts.append(gt)
        if remove_at and t in remove_at:
            tracker.remove_objects(remove_at[t])
        p = prompts.get(t)
        preds.append(tracker.step(img) if p is None else tracker.step(img, p[0], p[1]))
    return gts, preds


def mean_j(gts, preds, obj, frames=None):
    idx = range(1, len(gts)) if frames is None else frames
    return float(np.mean([iou(preds[t] == obj, gts[t] == obj) for t in idx]))


ROTATE = "petal tips whose colours the given frame never showed are lost"
MOVES = [(e, k) for e in CLASSICAL for k in ("translate", "rotate_scale")] + [
    (e, "translate") for e in LEARNED] + [
    pytest.param(e, "rotate_scale", marks=pytest.mark.xfail(strict=True, reason=MISSED + ROTATE))
    for e in LEARNED]


@pytest.mark.parametrize(("engine", "kind"), MOVES)
def test_follows_moving_object(engine, kind):
    sc = make_scene(kind, N)
    gts, preds = run(sc, engine)
    assert mean_j(gts, [gts[0]] * N, 1) < 0.5
    assert mean_j(gts, preds, 1) > 0.85


@pytest.mark.parametrize("engine", ["classical", "default"])
def test_crossing_objects_keep_their_ids(engine):
    gts, preds = run(make_scene("cross", N), engine)
    late = range(N - 8, N)
    for obj in (1, 2):
        assert mean_j(gts, [gts[0]] * N, obj, late) < 0.2
        assert mean_j(gts, preds, obj, late) > 0.7


@pytest.mark.parametrize("engine", ["classical", "default"])
def test_leaves_and_reenters_frame(engine):
    gts, preds = run(make_scene("leave", 40), engine)
    gone = [t for t in range(40) if not (gts[t] == 1).any()]
    back = list(range(max(gone) + 4, 40))
    assert gone and back
    assert np.mean([(preds[t] == 1).mean() for t in gone]) < 0.01  # nothing hallucinated
    assert mean_j(gts, [gts[0]] * 40, 1, back) < 0.5
    assert mean_j(gts, preds, 1, back) > 0.7


@pytest.mark.parametrize("engine", ["classical", "default"])
def test_found_again_after_occlusion(engine):
    gts, preds = run(make_scene("occlude", N), engine)
    hidden = [t for t in range(N) if not (gts[t] == 1).any()]
    after = list(range(max(hidden) + 3, N))
    assert hidden and after
    assert mean_j(gts, [gts[0]] * N, 1, after) < 0.2
    assert mean_j(gts, preds, 1, after) > 0.7


@pytest.mark.parametrize("engine", ["classical", "default"])
def test_second_object_given_later(engine):
    sc = make_scene("cross", N)
    g0, g5 = sc.render(0)[1], sc.render(5)[1]
    first = np.where(g0 == 1, 1, 0).astype(np.uint8)
    second = np.where(g5 == 2, 2, 0).astype(np.uint8)
    gts, preds = run(sc, engine, prompts={0: (first, None), 5: (second, None)})
    assert not (preds[3] == 2).any()
    assert np.array_equal(preds[5] == 2, g5 == 2)
    assert mean_j(gts, [g5] * N, 2, range(N - 8, N)) < 0.2
    assert mean_j(gts, preds, 2, range(N - 8, N)) > 0.7
    assert mean_j(gts, preds, 1, range(1, N)) > 0.7


@pytest.mark.parametrize("engine", ["classical", "default"])
def test_removed_object_given_anew_replaces_it(engine):
    sc = make_scene("translate", N)
    g0 = sc.render(0)[1]
    wrong = np.zeros_like(g0)
    wrong[100:130, 150:185] = 1
    g10 = sc.render(10)[1]
    gts, preds = run(sc, engine, prompts={0: (wrong, None), 10: (g10, [1])}, remove_at={10: [1]})
    assert mean_j(gts, preds, 1, range(1, 10)) < 0.2
    assert np.array_equal(preds[10], g10)
    assert mean_j(gts, [g10] * N, 1, range(11, N)) < 0.5
    assert mean_j(gts, preds, 1, range(11, N)) > 0.85

