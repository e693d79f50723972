"""A rotated square region of a frame, and the affine maps between it and a model's crop.

A :class:`Roi` is MediaPipe's normalised rect in frame pixels: a centre, a side and a rotation.
Coordinates are continuous (the frame's top-left corner is ``(0, 0)``, pixel ``(i, j)`` covers
``[i, i + 1) x [j, j + 1)``), the convention of the pose models' keypoints. The crop is an
``n x n`` image whose "up" is the ROI's rotated up: a person stands upright in it however they
lean in the frame. :func:`crop_to_frame` and :func:`frame_to_crop` are exact inverses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Roi:
    """A square of side ``size`` centred on ``(cx, cy)``, turned ``angle`` radians clockwise
    (``angle == 0``: upright)."""

    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def corners(self) -> np.ndarray:
        """The four corners in frame coordinates (top-left, top-right, bottom-right, bottom-left
        of the crop), ``(4, 2)`` float64."""
        h = self.size / 2
        local = np.array([[-h, -h], [h, -h], [h, h], [-h, h]], np.float64)
        return local @ _rotation(self.angle).T + np.array([self.cx, self.cy])

    def box(self) -> np.ndarray:
        """The axis-aligned bounding box of the rotated square, ``x0, y0, x1, y1``."""
        c = self.corners()
        return np.array([*c.min(axis=0), *c.max(axis=0)], np.float64)


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]], np.float64)


def roi_from_points(centre: np.ndarray, scale_point: np.ndarray, *, margin: float = 1.25) -> Roi:
    """MediaPipe's ``pose_detection_to_roi`` / ``pose_landmarks_to_roi``: a square centred on the
    hip centre, of side ``2 * margin * |scale_point - centre|``, turned so that the vector from the
    centre to the scale point (towards the head) points up in the crop."""
    c = np.asarray(centre, np.float64)
    d = np.asarray(scale_point, np.float64) - c
    r = float(np.hypot(d[0], d[1]))
    angle = math.atan2(float(d[0]), float(-d[1])) if r > 0 else 0.0
    return Roi(float(c[0]), float(c[1]), 2.0 * margin * max(r, 1e-6), angle)


def crop_to_frame(roi: Roi, n: int) -> np.ndarray:
    """The 2x3 affine map from continuous crop coordinates (``0..n``) to frame coordinates."""
    a = _rotation(roi.angle) * (roi.size / n)
    t = np.array([roi.cx, roi.cy]) - a @ np.array([n / 2, n / 2])
    return np.hstack([a, t[:, None]])


def frame_to_crop(roi: Roi, n: int) -> np.ndarray:
    """The 2x3 affine map from frame coordinates to continuous crop coordinates (``0..n``)."""
    return invert_affine(crop_to_frame(roi, n))


def invert_affine(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine map."""
    a_inv = np.linalg.inv(m[:, :2])
    return np.hstack([a_inv, (-a_inv @ m[:, 2])[:, None]])


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points mapped by the 2x3 affine ``m``."""
    p = np.asarray(points, np.float64)
    return p @ m[:, :2].T + m[:, 2]


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine ``outer(inner(x))``."""
    a = outer[:, :2] @ inner[:, :2]
    return np.hstack([a, (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def pixel_map(m: np.ndarray, *, scale_src: float = 1.0, scale_dst: float = 1.0) -> np.ndarray:
    """A continuous-coordinate map ``m`` as OpenCV wants it for pixel indices (pixel ``i``'s
    centre is ``i + 0.5``), with the source and destination images resized by ``scale_src`` and
    ``scale_dst`` (``dst_px = scale_dst * m(src_px / scale_src)``)."""
    to_cont = np.array([[1 / scale_src, 0, 0.5 / scale_src], [0, 1 / scale_src, 0.5 / scale_src]])
    to_px = np.array([[scale_dst, 0, -0.5], [0, scale_dst, -0.5]])
    return compose(to_px, compose(m, to_cont))


def crop(image: np.ndarray, roi: Roi, n: int, *, border: int = 0) -> np.ndarray:
    """The ``n x n`` crop of ``image`` under ``roi`` (bilinear; outside the frame: ``border``)."""
    m = pixel_map(frame_to_crop(roi, n))
    return cv2.warpAffine(image, m, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(border, border, border))


def paste(crop_map: np.ndarray, roi: Roi, frame_size: tuple[int, int], *, scale: float = 1.0,
          box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """``crop_map`` (``n x n`` float) laid back over a frame of ``frame_size = (w, h)`` resized by
    ``scale``, bilinearly, 0 outside the ROI. With ``box = (x0, y0, x1, y1)`` (pixels of the
    resized frame), only that part is made."""
    n = crop_map.shape[0]
    m = pixel_map(frame_to_crop(roi, n), scale_src=scale)  # resized-frame pixel -> crop pixel
    w, h = round(frame_size[0] * scale), round(frame_size[1] * scale)
    x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
    m = compose(m, np.array([[1.0, 0, x0], [0, 1.0, y0]]))
    return cv2.warpAffine(crop_map, m, (max(1, x1 - x0), max(1, y1 - y0)),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0.0)


def roi_pixel_box(roi: Roi, frame_size: tuple[int, int], scale: float = 1.0) -> tuple[int, int, int, int]:
    """The ROI's bounding box in pixels of the frame resized by ``scale``, clipped to it."""
    w, h = round(frame_size[0] * scale), round(frame_size[1] * scale)
    x0, y0, x1, y1 = roi.box() * scale
    return (min(w, max(0, math.floor(x0))), min(h, max(0, math.floor(y0))),
            min(w, max(0, math.ceil(x1))), min(h, max(0, math.ceil(y1))))
