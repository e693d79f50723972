"""The person detector's decoding: SSD anchors, boxes and keypoints, weighted NMS, letterbox."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.segment.people.detector import (
    Detections,
    PoseDetector,
    decode,
    letterbox,
    ssd_anchors,
    weighted_nms,
)


def test_anchors_match_the_model_output() -> None:
    a = ssd_anchors()
    assert a.shape == (2254, 2)  # 28*28*2 + 14*14*2 + 7*7*6
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell on a stride-8 layer
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])  # then the next cell along the row
    np.testing.assert_allclose(a[56], [0.5 / 28, 1.5 / 28])  # then the next row
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])  # the stride-16 layer
    np.testing.assert_allclose(a[1960:1966], [[0.5 / 7, 0.5 / 7]] * 6)  # 3 stride-32 layers merged
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_decode_boxes_and_keypoints_relative_to_their_anchor() -> None:
    a = ssd_anchors()
    raw = np.zeros((a.shape[0], 12), np.float32)
    scores = np.full(a.shape[0], -10.0, np.float32)
    i = 1000
    raw[i] = [11.2, -22.4, 44.8, 89.6, 0, 0, 5.6, -11.2, 0, 0, 0, 0]
    scores[i] = 2.0
    det = decode(raw, scores, a, min_score=0.5)
    assert len(det) == 1
    cx, cy = a[i] + np.array([0.05, -0.1])
    np.testing.assert_allclose(det.boxes[0], [cx - 0.1, cy - 0.2, cx + 0.1, cy + 0.2], atol=1e-6)
    np.testing.assert_allclose(det.keypoints[0, 0], a[i], atol=1e-6)
    np.testing.assert_allclose(det.keypoints[0, 1], a[i] + [0.025, -0.05], atol=1e-6)
    assert det.scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert len(decode(raw, scores, a, min_score=0.9)) == 0
    scores[:] = 1e6  # clipped, no overflow
    assert np.all(np.isfinite(decode(raw, scores, a).scores))


def _det(boxes: list[list[float]], scores: list[float]) -> Detections:
    b = np.asarray(boxes, np.float32)
    kp = np.stack([b[:, :2], b[:, 2:], b[:, :2], b[:, 2:]], axis=1)
    return Detections(b, kp, np.asarray(scores, np.float32))


@pytest.mark.parametrize(("boxes", "scores", "expected_boxes", "expected_scores"), [
    # two overlapping boxes merge into their score-weighted mean, keeping the best score
    ([[0, 0, 10, 10], [1, 1, 11, 11]], [0.9, 0.3], [[0.25, 0.25, 10.25, 10.25]], [0.9]),
    # apart: both stay, best first
    ([[0, 0, 10, 10], [20, 20, 30, 30]], [0.4, 0.8], [[20, 20, 30, 30], [0, 0, 10, 10]], [0.8, 0.4]),
    # a chain: the third overlaps the second only, so it survives on its own
    ([[0, 0, 10, 10], [4, 0, 14, 10], [12, 0, 22, 10]], [0.9, 0.5, 0.6],
     [[0 * 0.9 / 1.4 + 4 * 0.5 / 1.4, 0, 10 * 0.9 / 1.4 + 14 * 0.5 / 1.4, 10], [12, 0, 22, 10]], [0.9, 0.6]),
    # a degenerate box does not stall the loop
    ([[5, 5, 5, 5], [0, 0, 10, 10]], [0.9, 0.5], [[5, 5, 5, 5], [0, 0, 10, 10]], [0.9, 0.5]),
    ([], [], [], []),
])
def test_weighted_nms(boxes: list[list[float]], scores: list[float], expected_boxes: list[list[float]],
                      expected_scores: list[float]) -> None:
    det = _det(boxes, scores) if boxes else Detections(np.zeros((0, 4), np.float32), np.zeros((0, 4, 2), np.float32),
                                                       np.zeros(0, np.float32))
    out = weighted_nms(det, iou=0.3)
    np.testing.assert_allclose(out.boxes.reshape(-1, 4), np.asarray(expected_boxes, np.float32).reshape(-1, 4), atol=1e-5)
    np.testing.assert_allclose(out.scores, expected_scores, atol=1e-6)
    np.testing.assert_allclose(out.keypoints[:, 0], out.boxes[:, :2], atol=1e-5)  # keypoints averaged alike


class _OneBox:
    """A detector model that reports one person, whose box is the bright square of its input."""

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        a = ssd_anchors()
        img = x[0, ..., 0]
        ys, xs = np.nonzero(img > 0.9)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        cx, cy = (x0 + x1) / 2 / 224, (y0 + y1) / 2 / 224
        i = int(np.argmin(((a - [cx, cy]) ** 2).sum(axis=1)))
        raw = np.zeros((1, a.shape[0], 12), np.float32)
        scores = np.full((1, a.shape[0], 1), -10.0, np.float32)
        raw[0, i, :4] = [(cx - a[i, 0]) * 224, (cy - a[i, 1]) * 224, x1 - x0, y1 - y0]
        raw[0, i, 4:6] = raw[0, i, :2]  # hip centre: the box centre
        raw[0, i, 6:8] = [(cx - a[i, 0]) * 224, (y0 / 224 - a[i, 1]) * 224]  # size point: the top middle
        scores[0, i] = 5.0
        return [raw, scores]


@pytest.mark.parametrize("region", [None, (100, 0, 340, 240)])
def test_detector_maps_back_to_frame_pixels(region: tuple[int, int, int, int] | None) -> None:
    img = np.zeros((240, 427, 3), np.uint8)
    img[60:180, 200:240] = 255  # a 40x120 "person"
    det = PoseDetector(_OneBox())(img, region=region)
    assert len(det) == 1
    np.testing.assert_allclose(det.boxes[0], [200, 60, 240, 180], atol=3)
    np.testing.assert_allclose(det.keypoints[0, 0], [220, 120], atol=3)
    roi = det.rois()[0]
    assert roi.cx == pytest.approx(220, abs=3) and roi.size == pytest.approx(2 * 1.25 * 60, abs=6)
    assert abs(roi.angle) < 0.05


def test_letterbox_keeps_the_aspect() -> None:
    img = np.full((100, 400, 3), 200, np.uint8)
    out, lb = letterbox(img)
    assert out.shape == (224, 224, 3) and lb.scale == pytest.approx(0.56) and lb.pad_x == 0 and lb.pad_y == 84
    assert out[:84].max() == 0 and out[84:140].min() == 200 and out[140:].max() == 0
