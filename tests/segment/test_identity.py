"""Identity tracking on synthetic instances that cross, hide and come back."""

from __future__ import annotations

import numpy as np

from vidseg.segment.identity import IdentityTracker, instances_to_labels
from vidseg.segment.instance import Instances
from vidseg.synthetic import Scene, Shape, demo_scene


def _instances(labels: np.ndarray, order: list[int]) -> Instances:
    masks, boxes = [], []
    for k in order:
        m = labels == k
        ys, xs = np.nonzero(m)
        masks.append(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    n = len(order)
    h, w = labels.shape
    return Instances(np.stack(masks) if n else np.zeros((0, h, w), bool), np.asarray(boxes, np.float32).reshape(n, 4),
                     np.full(n, 0.9, np.float32), np.zeros(n, np.int64))


def _run(scene: Scene, *, drop: set[int] = frozenset(), seed: int = 0) -> list[dict[int, int]]:
    """Per frame, ground-truth object -> assigned id (detections given in random order)."""
    rng = np.random.default_rng(seed)
    tracker = IdentityTracker()
    out = []
    for t in range(scene.n_frames):
        img, lab = scene.render(t)
        present = [k for k in np.unique(lab).tolist() if k > 0 and (lab == k).sum() > 20 and (t, k) not in drop]
        rng.shuffle(present)
        inst = _instances(lab, present)
        ids = tracker.update(inst, img)
        out.append(dict(zip(present, ids.tolist(), strict=True)))
        np.testing.assert_array_equal(instances_to_labels(inst, ids) > 0, np.isin(lab, present))
    return out


def _consistent(assigned: list[dict[int, int]]) -> dict[int, set[int]]:
    ids: dict[int, set[int]] = {}
    for frame in assigned:
        for obj, tid in frame.items():
            ids.setdefault(obj, set()).add(tid)
    return ids


def test_crossing_objects_keep_their_ids() -> None:
    ids = _consistent(_run(demo_scene(160, 120, 40)))
    assert ids == {1: {ids[1].copy().pop()}, 2: {ids[2].copy().pop()}}
    assert ids[1] != ids[2]


def test_identical_looking_objects_crossing_are_told_apart_by_motion() -> None:
    w, h, n = 160, 100, 30
    grey = (128, 128, 128)
    scene = Scene(w, h, n, [
        Shape(1, "rect", grey, (14, 14), [(20, 38), (140, 42)]),  # crosses 2 with half of it hidden
        Shape(2, "rect", grey, (14, 14), [(140, 55), (20, 55)]),
    ], noise=0.0)
    ids = _consistent(_run(scene, seed=3))
    assert len(ids[1]) == 1 and len(ids[2]) == 1 and ids[1] != ids[2]


def test_a_missed_detection_does_not_change_the_id_and_new_objects_get_new_ids() -> None:
    scene = demo_scene(160, 120, 20)
    drop = {(t, 1) for t in range(8, 11)}  # object 1 undetected for 3 frames
    assigned = _run(scene, drop=drop)
    ids = _consistent(assigned)
    assert len(ids[1]) == 1 and len(ids[2]) == 1
    assert all(1 not in assigned[t] for t in range(8, 11))


def test_ids_stay_in_palette_range_and_are_not_reused_while_live() -> None:
    tracker = IdentityTracker(max_age=0)
    lab = np.zeros((20, 20), np.uint8)
    img = np.zeros((20, 20, 3), np.uint8)
    seen = []
    for t in range(300):  # a new object every frame, far from the last one
        lab[:] = 0
        y, x = (t * 7) % 16, (t * 11) % 16
        lab[y:y + 4, x:x + 4] = 1
        tracker.reset() if t % 2 else None
        ids = tracker.update(_instances(lab, [1]), img)
        seen.append(int(ids[0]))
    assert min(seen) >= 1 and max(seen) <= 255
