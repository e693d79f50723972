"""Instance post-processing for the de-facto YOLO-seg ONNX layout.

Output 0 holds, per anchor, a box ``(cx, cy, w, h)`` in input pixels, one score per class and
``nm`` mask coefficients: shape ``(1, 4 + nc + nm, A)`` (or transposed ``(1, A, 4 + nc + nm)``).
Output 1 holds ``nm`` mask prototypes ``(1, nm, mh, mw)``. A mask is
``sigmoid(coefficients @ prototypes)`` cropped to its box, thresholded at 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidseg.errors import ArgumentError, InputError
from vidseg.models.card import ModelCard
from vidseg.models.model import Letterbox


@dataclass
class Instances:
    """Detected instances in one frame (frame pixel coordinates)."""

    masks: np.ndarray  # (N, H, W) bool
    boxes: np.ndarray  # (N, 4) float32 x0, y0, x1, y1
    scores: np.ndarray  # (N,) float32
    classes: np.ndarray  # (N,) int64 label index

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @staticmethod
    def empty(h: int, w: int) -> Instances:
        return Instances(np.zeros((0, h, w), bool), np.zeros((0, 4), np.float32),
                         np.zeros(0, np.float32), np.zeros(0, np.int64))


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression on ``(N, 4)`` xyxy boxes; indices kept, best first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    x0, y0, x1, y1 = boxes.T
    area = np.maximum(0.0, x1 - x0) * np.maximum(0.0, y1 - y0)
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix0 = np.maximum(x0[i], x0[rest])
        iy0 = np.maximum(y0[i], y0[rest])
        ix1 = np.minimum(x1[i], x1[rest])
        iy1 = np.minimum(y1[i], y1[rest])
        inter = np.maximum(0.0, ix1 - ix0) * np.maximum(0.0, iy1 - iy0)
        union = area[i] + area[rest] - inter
        ov = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[ov <= iou]
    return np.asarray(keep, np.int64)


def split_yolo_output(pred: np.ndarray, nm: int, nc: int | None) -> np.ndarray:
    """``(A, 4 + nc + nm)`` rows from output 0 in either orientation."""
    a = np.asarray(pred)
    if a.ndim == 3:
        a = a[0]
    if a.ndim != 2:
        raise ArgumentError(f"YOLO-seg output 0 must be 2-D or 3-D, got shape {list(np.shape(pred))}")
    if nc is not None:
        rows = 4 + nc + nm
        if a.shape[0] == rows and a.shape[1] != rows:
            return a.T
        if a.shape[1] == rows:
            return a
        raise ArgumentError(f"YOLO-seg output 0 shape {list(np.shape(pred))} does not fit 4 boxes + {nc} classes + {nm} coefficients")
    return a.T if a.shape[0] < a.shape[1] else a


def decode_yolo_seg(
    outputs: Sequence[np.ndarray],
    card: ModelCard,
    lb: Letterbox,
    *,
    conf: float = 0.25,
    iou: float = 0.45,
    keep: Sequence[int] | None = None,
    max_det: int = 100,
    class_agnostic: bool = False,
) -> Instances:
    """Boxes, scores, classes and full-frame masks from YOLO-seg outputs."""
    if len(outputs) < 2:
        raise InputError(f"a YOLO-seg model has 2 outputs (detections, prototypes), this one has {len(outputs)}", card.file or card.name)
    protos = np.asarray(outputs[1])
    if protos.ndim == 4:
        protos = protos[0]
    nm, mh, mw = protos.shape
    nc = len(card.labels) if card.labels else None
    try:
        rows = split_yolo_output(outputs[0], nm, nc)
    except ValueError as exc:
        try:
            rows = split_yolo_output(outputs[0], nm, None)
        except ValueError:
            raise InputError(str(exc), card.file or card.name) from exc
    nc = rows.shape[1] - 4 - nm
    fw, fh = lb.frame_w, lb.frame_h
    if nc < 1:
        raise InputError(f"YOLO-seg output 0 has {rows.shape[1]} values per anchor, too few for {nm} mask coefficients", card.file or card.name)
    cls_scores = rows[:, 4:4 + nc]
    cls = np.argmax(cls_scores, axis=1)
    score = cls_scores[np.arange(rows.shape[0]), cls]
    sel = score > conf
    if keep is not None:
        sel &= np.isin(cls, np.asarray(list(keep)))
    if not np.any(sel):
        return Instances.empty(fh, fw)
    rows, cls, score = rows[sel], cls[sel], score[sel].astype(np.float32)
    cx, cy, bw, bh = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    boxes_in = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1).astype(np.float32)
    offset = boxes_in if class_agnostic else boxes_in + (cls.astype(np.float32) * 8192.0)[:, None]
    kept = nms(offset, score, iou)[:max_det]
    rows, cls, score, boxes_in = rows[kept], cls[kept], score[kept], boxes_in[kept]
    coef = rows[:, 4 + nc:4 + nc + nm].astype(np.float32)
    # box in frame pixels
    boxes = boxes_in.copy()
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - lb.pad_x) / lb.scale_x
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - lb.pad_y) / lb.scale_y
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, fw)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, fh)
    masks = _masks(coef, protos, boxes, card, lb)
    return Instances(masks, boxes, score, cls.astype(np.int64))


def _masks(coef: np.ndarray, protos: np.ndarray, boxes: np.ndarray, card: ModelCard, lb: Letterbox) -> np.ndarray:
    """Full-frame masks: prototypes mixed, resampled to the frame, then cropped to the boxes
    (given in frame pixels), as Ultralytics does with ``retina_masks``."""
    nm, mh, mw = protos.shape
    n = coef.shape[0]
    fw, fh = lb.frame_w, lb.frame_h
    # einsum, not BLAS: a multi-threaded BLAS on a busy 2-core machine is ~10x slower here
    logits = np.einsum("nk,kp->np", coef, protos.reshape(nm, -1).astype(np.float32, copy=False),
                       optimize=False).reshape(n, mh, mw)
    sx, sy = mw / card.width, mh / card.height
    # frame pixel centre -> prototype pixel coordinates (letterbox padding skipped)
    x0, y0 = lb.pad_x * sx, lb.pad_y * sy
    kx, ky = sx / lb.scale_x, sy / lb.scale_y
    m = np.array([[kx, 0, x0 + 0.5 * kx - 0.5], [0, ky, y0 + 0.5 * ky - 0.5]], np.float64)
    out = np.zeros((n, fh, fw), bool)
    for i in range(n):
        bx0, by0 = int(np.floor(boxes[i, 0])), int(np.floor(boxes[i, 1]))
        bx1, by1 = int(np.ceil(boxes[i, 2])), int(np.ceil(boxes[i, 3]))
        if bx1 <= bx0 or by1 <= by0:
            continue
        # resample only the box: shift the map so that output pixel (0, 0) is frame (bx0, by0)
        mi = m.copy()
        mi[:, 2] += mi[:, :2] @ np.array([bx0, by0], np.float64)
        crop = cv2.warpAffine(logits[i], mi, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        out[i, by0:by1, bx0:bx1] = crop > 0.0  # sigmoid(x) > 0.5
    return out
