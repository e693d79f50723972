"""The BlazePose person detector (MediaPipe ``pose_detection.tflite``): frame -> people.

The model sees the frame letterboxed into 224x224 (pixels in -1..1, black bars) and scores 2254
SSD anchors; each anchor regresses a box and four keypoints: the hip centre, a point whose distance
from it gives the body's size, the shoulder centre and the upper body's size point. Decoding and
the score-weighted non-maximum suppression follow MediaPipe's ``pose_detection_cpu`` graph
(``SsdAnchorsCalculator``, ``TensorsToDetectionsCalculator``, ``NonMaxSuppressionCalculator``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vidseg.segment.people.roi import Roi, roi_from_points

INPUT = 224
STRIDES = (8, 16, 32, 32, 32)  # one SSD layer each; two anchors per cell per layer
NUM_KEYPOINTS = 4


@functools.lru_cache(maxsize=4)
def ssd_anchors(size: int = INPUT, strides: tuple[int, ...] = STRIDES, per_layer: int = 2) -> np.ndarray:
    """Anchor centres ``(A, 2)`` in 0..1, in the model's output order: layers sharing a stride are
    merged, then row by row, cell by cell, ``per_layer`` anchors per layer in each cell (all of
    size 1: MediaPipe's ``fixed_anchor_size``)."""
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n = -(-size // strides[i])
        per_cell = per_layer * (j - i)
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(cells, per_cell, axis=0))
        i = j
    a = np.concatenate(out).astype(np.float32)
    a.flags.writeable = False
    return a


@dataclass
class Detections:
    """People found in one image: ``boxes`` ``(N, 4)`` xyxy, ``keypoints`` ``(N, 4, 2)`` and
    ``scores`` ``(N,)``; coordinates in the model input's 0..1 square until mapped to the frame."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def rois(self, margin: float = 1.25) -> list[Roi]:
        """One ROI per person, from the hip centre and the full-body size keypoint."""
        return [roi_from_points(k[0], k[1], margin=margin) for k in self.keypoints]


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, *, size: int = INPUT,
           min_score: float = 0.5) -> Detections:
    """Boxes, keypoints and scores (``sigmoid`` of the clipped logits) of the anchors scoring at
    least ``min_score``, in 0..1 of the model input. ``raw_boxes`` is ``(A, 4 + 2K)``: centre x,
    centre y, width, height, then K keypoints, all in input pixels relative to the anchor centre."""
    rb = np.asarray(raw_boxes, np.float32).reshape(anchors.shape[0], -1)
    logit = np.clip(np.asarray(raw_scores, np.float64).reshape(-1), -100.0, 100.0)
    score = 1.0 / (1.0 + np.exp(-logit))
    sel = np.flatnonzero(score >= min_score)
    rb, a, score = rb[sel], anchors[sel], score[sel]
    cx = rb[:, 0] / size + a[:, 0]
    cy = rb[:, 1] / size + a[:, 1]
    w, h = rb[:, 2] / size, rb[:, 3] / size
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    k = (rb.shape[1] - 4) // 2
    kps = rb[:, 4:4 + 2 * k].reshape(-1, k, 2) / size + a[:, None, :]
    return Detections(boxes.astype(np.float32), kps.astype(np.float32), score.astype(np.float32))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box ``a`` with each of ``b`` ``(N, 4)``."""
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(det: Detections, iou: float = 0.3, max_det: int = 10) -> Detections:
    """MediaPipe's ``WEIGHTED`` non-maximum suppression: the best remaining detection and every
    other overlapping it by more than ``iou`` become one, their boxes and keypoints averaged with
    the scores as weights; the merged detection keeps the best score."""
    order = np.argsort(-det.scores, kind="stable")
    boxes: list[np.ndarray] = []
    kps: list[np.ndarray] = []
    scores: list[float] = []
    while order.size and len(scores) < max_det:
        near = box_iou(det.boxes[order[0]], det.boxes[order]) > iou
        near[0] = True
        group, order = order[near], order[~near]
        w = det.scores[group][:, None]
        boxes.append((det.boxes[group] * w).sum(axis=0) / w.sum())
        kps.append((det.keypoints[group] * w[:, :, None]).sum(axis=0) / w.sum())
        scores.append(float(det.scores[group[0]]))
    k = det.keypoints.shape[1] if det.keypoints.ndim == 3 else NUM_KEYPOINTS
    if not scores:
        return Detections(np.zeros((0, 4), np.float32), np.zeros((0, k, 2), np.float32), np.zeros(0, np.float32))
    return Detections(np.stack(boxes).astype(np.float32), np.stack(kps).astype(np.float32),
                      np.asarray(scores, np.float32))


@dataclass(frozen=True)
class Letterbox:
    """How the frame sits in the square input: ``input = frame * scale + pad`` (pixels)."""

    scale: float
    pad_x: float
    pad_y: float


def letterbox(image: np.ndarray, size: int = INPUT) -> tuple[np.ndarray, Letterbox]:
    """The frame scaled to fit ``size x size`` (aspect kept, centred, black bars) and its placement."""
    h, w = image.shape[:2]
    s = min(size / w, size / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    out = np.zeros((size, size, 3), np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    out[py:py + nh, px:px + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return out, Letterbox(s, float(px), float(py))


def to_frame(det: Detections, lb: Letterbox, size: int = INPUT) -> Detections:
    """Detections moved from the input's 0..1 square to frame pixels."""
    def move(p: np.ndarray) -> np.ndarray:
        q = p.copy()
        q[..., 0] = (p[..., 0] * size - lb.pad_x) / lb.scale
        q[..., 1] = (p[..., 1] * size - lb.pad_y) / lb.scale
        return q

    boxes = move(det.boxes.reshape(-1, 2, 2)).reshape(-1, 4)
    return Detections(boxes, move(det.keypoints), det.scores)


class PoseDetector:
    """Runs ``pose_detection.tflite`` on RGB frames (a backend with ``run(x) -> [boxes, scores]``)."""

    def __init__(self, backend: Any, *, min_score: float = 0.5, iou: float = 0.3, max_det: int = 10) -> None:
        self.backend = backend
        self.min_score = min_score
        self.iou = iou
        self.max_det = max_det
        self.anchors = ssd_anchors()

    def __call__(self, image: np.ndarray, region: tuple[int, int, int, int] | None = None) -> Detections:
        """The people in an RGB uint8 frame (or in its ``region`` ``x0, y0, x1, y1``), in frame
        pixels, best first."""
        x0, y0 = (0, 0) if region is None else region[:2]
        sub = image if region is None else image[region[1]:region[3], region[0]:region[2]]
        x, lb = letterbox(sub)
        lb = Letterbox(lb.scale, lb.pad_x - x0 * lb.scale, lb.pad_y - y0 * lb.scale)
        t = (x.astype(np.float32) * (2.0 / 255.0) - 1.0)[None]
        outs: Sequence[np.ndarray] = self.backend.run(t)
        raw_boxes, raw_scores = (outs[0], outs[1]) if outs[0].shape[-1] > 1 else (outs[1], outs[0])
        det = decode(raw_boxes, raw_scores, self.anchors, min_score=self.min_score)
        return to_frame(weighted_nms(det, self.iou, self.max_det), lb)
