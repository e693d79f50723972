"""Engines by name: every registered engine tracks a moving object; unknown names are errors."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.synthetic import Scene, Shape, motion_scene
from vidseg.vos.engines import engine_names, make_tracker


def test_unknown_engine_names_the_choices() -> None:
    with pytest.raises(InputError, match="default"):
        make_tracker("nope")


@pytest.mark.parametrize("name", engine_names())
def test_every_engine_follows_a_moving_object(name: str) -> None:
    scene = Scene(160, 120, 12, [Shape(1, "ellipse", (210, 60, 50), (18, 14), [(40, 60), (110, 60)])], seed=3)
    tracker = make_tracker(name)
    ious = []
    for t in range(scene.n_frames):
        img, gt = scene.render(t)
        labels = tracker.step(img, gt if t == 0 else None)
        if t:
            ious.append(np.logical_and(labels == 1, gt == 1).sum() / np.logical_or(labels == 1, gt == 1).sum())
    assert tracker.object_ids == [1]
    assert float(np.mean(ious)) > 0.7  # the first mask copied would score about 0.25 here


@pytest.mark.parametrize("name", ["default", "fast"])
def test_step_errors(name: str) -> None:
    img, gt = motion_scene("translate", 2).render(0)
    tracker = make_tracker(name)
    with pytest.raises(InputError, match="no frame"):
        tracker.probabilities()
    with pytest.raises(InputError, match="needs a mask"):
        tracker.step(img)
    with pytest.raises(InputError, match="empty"):
        tracker.step(img, np.zeros_like(gt))
    with pytest.raises(InputError, match="object id 7"):
        tracker.step(img, gt, objects=[7])
    tracker.step(img, gt)
    with pytest.raises(InputError, match="mask has shape"):
        tracker.step(img, gt[:-1])
    with pytest.raises(InputError, match="frame is"):
        tracker.step(img[:-2])
    with pytest.raises(InputError, match="RGB"):
        tracker.step(img[..., 0])
