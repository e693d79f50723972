"""Box and click prompts give the object's mask on a synthetic frame with exact truth."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.synthetic import demo_scene
from vidseg.vos.interactive import labels_from_prompts, mask_from_box, mask_from_clicks


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


@pytest.fixture(scope="module")
def frame() -> tuple[np.ndarray, np.ndarray]:
    return demo_scene(width=200, height=150, n_frames=10).render(0)


def _bbox(m: np.ndarray, pad: int = 4) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(m)
    return int(xs.min()) - pad, int(ys.min()) - pad, int(xs.max()) + pad, int(ys.max()) + pad


def test_box_gives_the_object(frame: tuple[np.ndarray, np.ndarray]) -> None:
    img, gt = frame
    m = mask_from_box(img, _bbox(gt == 1))
    assert _iou(m, gt == 1) > 0.85


def test_clicks_give_the_object(frame: tuple[np.ndarray, np.ndarray]) -> None:
    img, gt = frame
    ys, xs = np.nonzero(gt == 1)
    c = (int(xs.mean()), int(ys.mean()))
    m = mask_from_clicks(img, [c])
    assert _iou(m, gt == 1) > 0.6
    assert m[c[1], c[0]]


def test_labels_from_prompts_two_objects(frame: tuple[np.ndarray, np.ndarray]) -> None:
    img, gt = frame
    labels = labels_from_prompts(img, boxes={1: _bbox(gt == 1), 2: _bbox(gt == 2)})
    assert _iou(labels == 1, gt == 1) > 0.8
    assert _iou(labels == 2, gt == 2) > 0.6


def test_bad_prompts(frame: tuple[np.ndarray, np.ndarray]) -> None:
    img, _ = frame
    with pytest.raises(InputError, match="outside"):
        mask_from_clicks(img, [(500, 5)])
    with pytest.raises(InputError, match="empty"):
        mask_from_box(img, (10, 10, 10, 40))
    with pytest.raises(InputError, match="no box or click"):
        labels_from_prompts(img)
    with pytest.raises(InputError, match="1..255"):
        labels_from_prompts(img, boxes={300: (0, 0, 50, 50)})
