"""LearnedTracker (the shipped weights): probabilities, reset, bounded memory, presets and the
locality gate. The tracking scenarios every engine must pass are in ``tests/vos/test_scenarios.py``."""

from __future__ import annotations

import functools
from dataclasses import replace

import cv2
import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.synthetic import Scene, motion_scene
from vidseg.vos.learned import LEARNED_PRESETS, LearnedConfig, LearnedTracker, get_learned_preset
from vidseg.vos.learned.tracker import REFINE_MARGIN, aggregate, work_size

W, H, N = 192, 144, 30


@functools.cache
def tracker_for(preset: str) -> LearnedTracker:
    return LearnedTracker(LEARNED_PRESETS[preset])


def scene(kind: str, n: int = N) -> Scene:
    return motion_scene(kind, n, width=W, height=H)


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


def test_a_correction_keeps_the_masks_given_before_and_remove_forgets_them():
    sc = scene("translate", 12)
    g0, g10 = sc.render(0)[1], sc.render(10)[1]
    tracker = LearnedTracker("default")
    tracker.step(sc.render(0)[0], g0)
    for t in range(1, 10):
        tracker.step(sc.render(t)[0])
    assert np.array_equal(tracker.step(sc.render(10)[0], g10, [1]), g10)
    assert [e.frame for e in tracker._memory.given if 1 in e.values] == [0, 10]
    tracker.remove_objects([1])
    assert tracker.object_ids == [] and tracker.probabilities()[1].shape[0] == 1
    assert not any(1 in e.values for e in tracker._memory.entries()) and 1 not in tracker._target


def test_a_twin_shares_the_graphs_and_runs_the_backbone_once_a_frame_with_the_same_results():
    sc = scene("cross", 6)
    alone = LearnedTracker(LEARNED_PRESETS["fast"])
    first = LearnedTracker(LEARNED_PRESETS["fast"])
    second = first.twin()
    assert second._graphs is first._graphs and second.config == first.config
    runs = []
    backbone = first._backbone.backbone  # type: ignore[union-attr]
    first._backbone.backbone = lambda image: runs.append(1) or backbone(image)  # type: ignore[union-attr]
    img, gt = sc.render(0)
    other = np.where(gt == 2, 1, 0).astype(np.uint8)  # the second follows one object only
    alone.step(img, other)
    first.step(img, gt)
    second.step(img, other)
    for t in range(1, 6):
        img = sc.render(t)[0]
        first.step(img)
        assert np.array_equal(second.step(img), alone.step(img))
    assert len(runs) == 6  # one backbone run a frame for the two trackers


def test_a_refiner_changes_masks_only_near_their_edges(tmp_path):
    torch = pytest.importorskip("torch")
    import json
    import shutil

    import cv2

    from vidseg.models.cache import sha256_file
    from vidseg.train.engine_export import export_refiner
    from vidseg.train.engine_net import MaskRefiner
    from vidseg.vos.learned.weights import shipped_weights_dir

    torch.manual_seed(0)
    refiner = MaskRefiner()
    for p in refiner.parameters():
        p.data += 0.3 * torch.randn_like(p)
    shutil.copytree(shipped_weights_dir(), tmp_path / "w")
    (tmp_path / "w" / "refine.onnx").write_bytes(export_refiner(refiner))
    card = json.loads((tmp_path / "w" / "card.json").read_text())
    card["files"]["refine.onnx"] = sha256_file(tmp_path / "w" / "refine.onnx")
    (tmp_path / "w" / "card.json").write_text(json.dumps(card))
    cfg = LearnedConfig(weights=str(tmp_path / "w"), threads=1)
    plain, refined = LearnedTracker(replace(cfg, refine=False)), LearnedTracker(cfg)
    assert plain._graphs.refine is not None
    sc = scene("translate", 4)
    changed = 0
    for t in range(4):
        img, gt = sc.render(t)
        a = plain.step(img, gt if t == 0 else None)
        b = refined.step(img, gt if t == 0 else None)
        diff = a != b
        changed += int(diff.sum())
        edge = cv2.morphologyEx((a > 0).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        near = cv2.dilate(edge.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0  # 3 working px, and some
        assert not (diff & ~near).any()
    assert changed > 0


def test_the_refiner_on_a_crop_equals_it_on_the_whole_frame():
    from vidseg.vos.learned.tracker import edge_band, refiner_image

    tracker = tracker_for("accurate")  # the preset that refines
    assert tracker.config.refine
    graph = tracker._graphs.refine
    assert graph is not None, "the shipped weights have a refiner"
    sc = scene("translate", 2)
    tracker.reset()
    tracker.step(*sc.render(0))
    tracker.step(sc.render(1)[0])
    small = cv2_resize_to_work(sc.render(1)[0], tracker)
    feats = tracker.last_features
    assert feats is not None and tracker.last_logits4
    cropped = tracker._refine(small, feats.f4, tracker.last_logits4)
    for o, logits in tracker.last_logits4.items():
        h4, w4 = logits.shape
        rows, cols = np.nonzero(logits > 0)
        assert np.ptp(rows) + 2 * REFINE_MARGIN + 1 < h4 and np.ptp(cols) + 2 * REFINE_MARGIN + 1 < w4, "the crop is smaller than the frame"
        whole = graph.run(None, {"image": refiner_image(small), "logits4": logits[None, None].astype(np.float32),
                                 "f4": feats.f4})[0][0, 0]
        base = cv2.resize(logits, (w4 * 4, h4 * 4), interpolation=cv2.INTER_LINEAR)
        expected = np.where(edge_band(base, tracker.config.refine_band), whole, base)
        assert np.array_equal(cropped[o] > 0, expected > 0)
        assert np.abs(cropped[o] - expected).max() < 1e-3


def cv2_resize_to_work(image: np.ndarray, tracker: LearnedTracker) -> np.ndarray:
    assert tracker._small_size is not None
    h, w = tracker._small_size
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def _track(tracker: LearnedTracker, sc: Scene) -> list[np.ndarray]:
    tracker.reset()
    return [tracker.step(*sc.render(t)) if t == 0 else tracker.step(sc.render(t)[0]) for t in range(sc.n_frames)]


def test_the_decoder_on_a_crop_gives_the_labels_of_the_whole_frame(monkeypatch):
    sc = motion_scene("cross", 12, width=640, height=480)  # two objects
    tracker = LearnedTracker(replace(get_learned_preset("default"), work_short=480))  # a crop smaller than the frame
    boxes: list[tuple[int, int, int, int]] = []
    real = LearnedTracker._decode_box

    def spy(self, objs, size16):
        boxes.append(real(self, objs, size16))
        return boxes[-1]

    monkeypatch.setattr(LearnedTracker, "_decode_box", spy)
    cropped = _track(tracker, sc)
    h16, w16 = tracker.last_features.f16.shape[2:]  # type: ignore[union-attr]
    assert any((y1 - y0) * (x1 - x0) < 0.7 * h16 * w16 for y0, y1, x0, x1 in boxes), boxes
    monkeypatch.setattr(LearnedTracker, "_decode_box", lambda self, objs, size16: (0, size16[0], 0, size16[1]))
    whole = _track(tracker, sc)
    assert np.mean([(a == b).mean() for a, b in zip(cropped, whole, strict=True)]) > 0.999


def test_an_object_that_jumps_out_of_the_crop_is_decoded_on_the_whole_frame():
    sc = scene("translate", 2)  # the whole path in one step: far beyond the crop around frame 0's mask
    tracker = LearnedTracker(get_learned_preset("default"))
    h16, w16 = work_size((H, W), tracker.config.work_short)[0] // 16, work_size((H, W), tracker.config.work_short)[1] // 16
    labels = _track(tracker, sc)
    tracker.reset()
    tracker.step(*sc.render(0))
    y0, y1, x0, x1 = tracker._decode_box([1], (h16, w16))
    gt = sc.render(1)[1]
    ys, xs = np.nonzero(cv2.resize(gt, (w16, h16), interpolation=cv2.INTER_NEAREST))
    assert not ((ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)).all(), "the object leaves the crop"
    inter, union = ((labels[1] == 1) & (gt == 1)).sum(), ((labels[1] == 1) | (gt == 1)).sum()
    assert inter / union > 0.8
