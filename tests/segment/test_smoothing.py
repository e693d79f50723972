"""Flow-aligned temporal smoothing: less flicker on still objects, no lag on moving ones."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.segment.smoothing import TemporalSmoother
from vidseg.synthetic import Scene, Shape


def _scene(moving: bool) -> Scene:
    path = [(40.0, 60.0), (120.0, 60.0)] if moving else [(80.0, 60.0)]
    return Scene(160, 120, 24, [Shape(1, "ellipse", (200, 60, 50), (22, 18), path)], seed=2, noise=2.0)


def _noisy_probs(lab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flickering model at 1/2 resolution: the truth plus noise that changes every frame."""
    small = lab[::2, ::2].astype(np.float32)
    p = 0.1 + 0.8 * small + rng.normal(0, 0.3, small.shape).astype(np.float32)
    return np.clip(p, 0, 1)[None]


def _run(scene: Scene, smoother: TemporalSmoother | None) -> tuple[float, float]:
    """(mean fraction of pixels whose label flips between frames, mean IoU with the truth)."""
    rng = np.random.default_rng(0)
    prev, flips, ious = None, [], []
    for t in range(scene.n_frames):
        img, lab = scene.render(t)
        p = _noisy_probs(lab, rng)
        if smoother is not None:
            p = smoother.step(img, p)
        pred = p[0] > 0.5
        truth = lab[::2, ::2] > 0
        ious.append((pred & truth).sum() / (pred | truth).sum())
        if prev is not None:
            flips.append(float((pred != prev).mean()))
        prev = pred
    return float(np.mean(flips)), float(np.mean(ious[3:]))


@pytest.mark.parametrize("moving", [False, True])
def test_smoothing_reduces_flicker_without_losing_the_object(moving: bool) -> None:
    scene = _scene(moving)
    raw_flicker, raw_iou = _run(scene, None)
    smooth_flicker, smooth_iou = _run(scene, TemporalSmoother(alpha=0.4))
    assert smooth_flicker < 0.5 * raw_flicker
    assert smooth_iou > raw_iou  # no lag: a moving object is still where the frame shows it


def test_first_frame_and_shape_changes_pass_through() -> None:
    s = TemporalSmoother()
    img = np.zeros((40, 60, 3), np.uint8)
    p = np.random.default_rng(0).random((2, 20, 30)).astype(np.float32)
    np.testing.assert_array_equal(s.step(img, p), p)
    q = np.random.default_rng(1).random((2, 10, 15)).astype(np.float32)
    np.testing.assert_array_equal(s.step(img, q), q)  # new map size: restart
    with pytest.raises(ValueError):
        TemporalSmoother(alpha=0.0)


def test_still_image_converges_to_the_running_average() -> None:
    s = TemporalSmoother(alpha=0.5)
    img = np.full((40, 60, 3), 100, np.uint8)
    a = np.zeros((1, 20, 30), np.float32)
    b = np.ones((1, 20, 30), np.float32)
    s.step(img, a)
    out = s.step(img, b)
    np.testing.assert_allclose(out, 0.5, atol=1e-4)  # half of each: nothing moved, nothing changed
