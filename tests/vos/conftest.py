"""Synthetic scenes with exact ground truth for the tracker tests and a J (IoU) helper."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.vos.vos_helpers import make_scene
from vidseg.eval.metrics import jaccard
from vidseg.synthetic import Scene


@pytest.fixture
def scene_factory() -> Callable[..., Scene]:
    return make_scene


@pytest.fixture
def iou() -> Callable[[np.ndarray, np.ndarray], float]:
    return jaccard
