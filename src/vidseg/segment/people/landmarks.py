"""BlazePose GHUM (MediaPipe ``pose_landmark_full.tflite``) on one person's region.

The model takes the ROI's 256x256 upright crop (RGB in 0..1) and gives 39 landmarks (x, y, z,
visibility and presence logits; x, y in crop pixels; 33 body points, then the hip centre and the
body's size point that place the next frame's ROI), a pose presence probability, a 256x256
person segmentation (logits), heatmaps and world landmarks. Only the first three are used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vidseg.segment.people.roi import Roi, apply_affine, crop, crop_to_frame, roi_from_points

SIZE = 256
NUM_LANDMARKS = 39
BODY = 33  # landmarks 0..32 are the body; 33 is the hip centre, 34 the size point


@dataclass
class Pose:
    """One person seen in one ROI: ``landmarks`` ``(39, 2)`` in frame pixels, their
    ``visibility`` ``(39,)`` in 0..1, the pose ``presence`` (0..1) and the person's probability
    ``mask`` ``(256, 256)`` float32 over the crop."""

    roi: Roi
    landmarks: np.ndarray
    visibility: np.ndarray
    presence: float
    mask: np.ndarray

    def moved(self, dx: float, dy: float) -> Pose:
        """The same pose shifted by ``(dx, dy)`` frame pixels."""
        r = self.roi
        return Pose(Roi(r.cx + dx, r.cy + dy, r.size, r.angle), self.landmarks + np.array([dx, dy], np.float32),
                    self.visibility, self.presence, self.mask)

    def next_roi(self, margin: float = 1.25) -> Roi:
        """Where to look in the next frame: MediaPipe's ``pose_landmarks_to_roi``."""
        return roi_from_points(self.landmarks[BODY], self.landmarks[BODY + 1], margin=margin)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, safe for large logits (float32)."""
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float32)))).astype(np.float32)


class PoseLandmarker:
    """Runs the landmark model (a backend with ``run(x) -> outputs``) on a frame's ROI."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._order: tuple[int, int, int] | None = None

    def _outputs(self, outs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._order is None:  # find the outputs by their sizes: 195 values, 1 value, 256x256 map
            sizes = [o.size for o in outs]
            self._order = (sizes.index(NUM_LANDMARKS * 5), sizes.index(1), sizes.index(SIZE * SIZE))
        i, j, k = self._order
        return outs[i], outs[j], outs[k]

    def __call__(self, image: np.ndarray, roi: Roi) -> Pose:
        """The pose in ``roi`` of the RGB uint8 frame ``image``."""
        x = crop(image, roi, SIZE).astype(np.float32) * (1.0 / 255.0)
        raw, flag, seg = self._outputs(self.backend.run(x[None]))
        lm = np.asarray(raw, np.float32).reshape(NUM_LANDMARKS, 5)
        pts = apply_affine(crop_to_frame(roi, SIZE), lm[:, :2]).astype(np.float32)
        return Pose(roi, pts, sigmoid(lm[:, 3]), float(np.asarray(flag).reshape(-1)[0]),
                    sigmoid(np.asarray(seg).reshape(SIZE, SIZE)))
