"""Synthetic scenes with exact ground truth for the tracker tests, and a J (IoU) helper."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vidseg.synthetic import Scene, Shape

W, H = 192, 144


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(pred, gt).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, gt).sum() / union)


def make_scene(kind: str, n: int = 30) -> Scene:
    """A small scene of one kind of motion (see the ``kind`` values below)."""
    w, h = W, H
    if kind == "translate":
        shapes = [Shape(1, "ellipse", (210, 60, 40), (22, 16), [(40, 50), (150, 95)])]
    elif kind == "rotate_scale":
        shapes = [Shape(1, "star", (40, 70, 220), (30, 30), [(96, 72), (110, 70)], rotation_speed=0.06,
                        scale_speed=0.012)]
    elif kind == "cross":
        shapes = [Shape(1, "ellipse", (210, 60, 40), (20, 15), [(35, 60), (160, 80)]),
                  Shape(2, "rect", (40, 70, 220), (16, 14), [(160, 60), (35, 85)])]
    elif kind == "leave":  # exits on the right, comes back
        shapes = [Shape(1, "ellipse", (210, 60, 40), (18, 14), [(90, 72), (250, 72), (250, 72), (90, 72)])]
    elif kind == "occlude":  # passes behind a grey bar and comes out the other side
        shapes = [Shape(1, "ellipse", (210, 60, 40), (16, 14), [(30, 72), (170, 72)]),
                  Shape(0, "rect", (90, 90, 90), (24, 80), [(100, 72)], occluder=True)]
    else:
        raise ValueError(kind)
    return Scene(width=w, height=h, n_frames=n, shapes=shapes, seed=3)


@pytest.fixture
def scene_factory() -> Callable[..., Scene]:
    return make_scene


@pytest.fixture
def iou() -> Callable[[np.ndarray, np.ndarray], float]:
    return jaccard
