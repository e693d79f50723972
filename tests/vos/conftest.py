"""Synthetic scenes with exact ground truth for the tracker tests, and a J (IoU) helper."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vidseg.synthetic import Scene, jaccard, motion_scene

W, H = 192, 144


def make_scene(kind: str, n: int = 30) -> Scene:
    """A small scene of one kind of motion (see :func:`vidseg.synthetic.motion_scene`)."""
    return motion_scene(kind, n, width=W, height=H)


@pytest.fixture
def scene_factory() -> Callable[..., Scene]:
    return make_scene


@pytest.fixture
def iou() -> Callable[[np.ndarray, np.ndarray], float]:
    return jaccard
