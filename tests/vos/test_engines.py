"""Engines by name: every registered engine tracks a moving object; unknown names are errors."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.synthetic import Scene, Shape, motion_scene
from vidseg.vos.classical import ClassicalConfig, ClassicalTracker
from vidseg.vos.engines import engine_descriptions, engine_names, make_tracker, resolve_tracker


def test_unknown_engine_names_the_choices() -> None:
    with pytest.raises(InputError, match="unknown engine 'nope'.*classical-fast"):
        make_tracker("nope")


def test_every_engine_name_is_described_and_the_classical_names_are_its_presets() -> None:
    descriptions = engine_descriptions()
    assert list(descriptions) == engine_names()
    assert {"fast", "default", "accurate", "classical", "classical-fast", "classical-accurate"} <= set(descriptions)
    assert all(d and "\n" not in d for d in descriptions.values())
    for name, preset in (("classical", "default"), ("classical-fast", "fast"), ("classical-accurate", "accurate")):
        tracker = make_tracker(name)
        assert isinstance(tracker, ClassicalTracker) and tracker.config.name == preset


@pytest.mark.parametrize("name", engine_names(baselines=True))
def test_trained_weights_go_to_the_learned_engines_only(name: str, tmp_path) -> None:
    from vidseg.vos.engines import LEARNED_ENGINES
    from vidseg.vos.learned import LearnedTracker
    from vidseg.vos.learned.weights import shipped_weights_dir

    if name in LEARNED_ENGINES:
        tracker = make_tracker(name, weights=str(shipped_weights_dir()))
        assert isinstance(tracker, LearnedTracker) and tracker.config.weights == str(shipped_weights_dir())
        with pytest.raises(InputError, match="card.json"):
            make_tracker(name, weights=str(tmp_path))
    else:
        with pytest.raises(InputError, match="has no trained weights"):
            make_tracker(name, weights=str(tmp_path))


def test_resolve_tracker_takes_a_name_a_config_or_a_tracker() -> None:
    assert isinstance(resolve_tracker("classical-fast"), ClassicalTracker)
    made = resolve_tracker(ClassicalConfig(work_width=100))
    assert isinstance(made, ClassicalTracker) and made.config.work_width == 100
    ready = ClassicalTracker()
    assert resolve_tracker(ready) is ready
    with pytest.raises(InputError, match="not an engine name"):
        resolve_tracker(42)  # type: ignore[arg-type]


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


@pytest.mark.parametrize("name", engine_names())
def test_every_engines_twin_starts_fresh_with_the_same_settings_and_tracks_alike(name: str) -> None:
    scene = motion_scene("translate", 4)
    tracker = make_tracker(name)
    img, gt = scene.render(0)
    tracker.step(img, gt)
    twin = tracker.twin()  # type: ignore[attr-defined]
    assert type(twin) is type(tracker) and getattr(twin, "config", None) == getattr(tracker, "config", None)
    assert twin.object_ids == []
    twin.step(img, gt)
    for t in range(1, 4):
        img = scene.render(t)[0]
        assert np.array_equal(tracker.step(img), twin.step(img))


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
