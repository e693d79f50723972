"""YOLO-seg decoding on a fake ONNX graph that emits known tensors: boxes, NMS, classes, masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidseg.models.model import load_model
from vidseg.models.toy import constant_onnx
from vidseg.segment.instance import decode_yolo_seg, nms
from vidseg.segment.segmenter import Segmenter, SegmentOptions

# input 64x64, 2 classes, 2 prototypes at 16x16 (stride 4)
ANCHORS = np.array([
    # cx, cy, w, h, score0, score1, coef0, coef1
    [16, 32, 16, 16, 0.9, 0.0, 1, 1],  # a0: class 0, box (8,24)-(24,40) in input pixels
    [17, 32, 16, 16, 0.8, 0.0, 5, 0],  # a1: overlaps a0, same class -> suppressed
    [16, 32, 16, 16, 0.0, 0.7, 5, 0],  # a2: same box, class 1 -> kept (class-aware NMS)
    [48, 32, 8, 8, 0.0, 0.6, 5, 0],  # a3: class 1, small box
    [40, 40, 8, 8, 0.1, 0.0, 5, 0],  # a4: under the score threshold
], np.float32)


def _protos() -> np.ndarray:
    p = np.zeros((1, 2, 16, 16), np.float32)
    p[0, 0] = 1.0
    p[0, 1, :, :4] = 1.0  # input x < 16
    p[0, 1, :, 4:] = -3.0
    return p


def _box(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture(params=["channels-first", "anchors-first"])
def yolo_model(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    det = ANCHORS.T[None] if request.param == "channels-first" else ANCHORS[None]
    path = constant_onnx(tmp_path / "yolo.onnx", [det, _protos()], (64, 64),
                         metadata={"names": "{0: 'person', 1: 'cat'}"})
    return load_model(str(path))


def test_decode_boxes_scores_classes_and_masks(yolo_model) -> None:  # type: ignore[no-untyped-def]
    frame = np.zeros((32, 64, 3), np.uint8)  # letterboxed into 64x64 with 16 px bars top and bottom
    outs, lb = yolo_model.run(frame)
    assert (lb.pad_x, lb.pad_y, lb.scale_x) == (0, 16, 1.0)
    inst = decode_yolo_seg(outs, yolo_model.card, lb, conf=0.25, iou=0.45)
    assert len(inst) == 3
    np.testing.assert_allclose(inst.scores, [0.9, 0.7, 0.6], rtol=1e-6)
    np.testing.assert_array_equal(inst.classes, [0, 1, 1])
    np.testing.assert_allclose(inst.boxes, [[8, 8, 24, 24], [8, 8, 24, 24], [44, 12, 52, 20]])
    # a0 mixes both prototypes: positive only left of input x = 16
    np.testing.assert_array_equal(inst.masks[0], _box(32, 64, 8, 24, 8, 16))
    np.testing.assert_array_equal(inst.masks[1], _box(32, 64, 8, 24, 8, 24))
    np.testing.assert_array_equal(inst.masks[2], _box(32, 64, 12, 20, 44, 52))


def test_class_filter_threshold_and_agnostic_nms(yolo_model) -> None:  # type: ignore[no-untyped-def]
    outs, lb = yolo_model.run(np.zeros((32, 64, 3), np.uint8))
    card = yolo_model.card
    assert decode_yolo_seg(outs, card, lb, keep=[1]).classes.tolist() == [1, 1]
    assert decode_yolo_seg(outs, card, lb, conf=0.75).scores.tolist() == pytest.approx([0.9])
    assert len(decode_yolo_seg(outs, card, lb, iou=0.99)) == 4  # a1 survives a lax NMS
    assert len(decode_yolo_seg(outs, card, lb, class_agnostic=True)) == 2
    assert len(decode_yolo_seg(outs, card, lb, conf=0.95)) == 0


def test_segmenter_gives_track_ids_as_labels(yolo_model) -> None:  # type: ignore[no-untyped-def]
    seg = Segmenter(yolo_model, SegmentOptions(classes=("cat",)))
    frame = np.zeros((32, 64, 3), np.uint8)
    first = seg(frame)
    second = seg(frame)
    assert first.ids is not None and second.ids is not None
    assert sorted(first.ids.tolist()) == [1, 2]
    np.testing.assert_array_equal(first.ids, second.ids)  # same objects keep their ids
    np.testing.assert_array_equal(first.labels, second.labels)
    assert set(np.unique(first.labels).tolist()) == {0, 1, 2}


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 5]], np.float32)
    scores = np.array([0.5, 0.9, 0.3, 0.4], np.float32)
    # box 3 overlaps box 0 with IoU 0.5 and box 1 with IoU 36/(100+50-36)
    assert nms(boxes, scores, 0.45).tolist() == [1, 3, 2]
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []
