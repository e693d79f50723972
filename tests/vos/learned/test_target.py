"""The linear target model and the gate that removes predicted parts unlike the object."""

from __future__ import annotations

import numpy as np

from vidseg.models.backbone import BackboneFeatures
from vidseg.vos.learned.target import TargetModel, drop_unlike, position_features


def _features(rng: np.random.Generator, object_cells: tuple[slice, slice]) -> BackboneFeatures:
    """Random features whose stride-16 map holds a distinct pattern under the object's cells."""
    f16 = rng.normal(size=(1, 112, 6, 8)).astype(np.float32)
    f16[0, :8][(slice(None), *object_cells)] += 3.0
    f8 = rng.normal(size=(1, 40, 12, 16)).astype(np.float32)
    return BackboneFeatures(np.zeros((1, 24, 24, 32), np.float32), f8, f16)


def _positions(rng: np.random.Generator, object_cells: tuple[slice, slice]) -> np.ndarray:
    feats = _features(rng, object_cells)
    return position_features(feats.f16[0], feats.f8[0])


def test_position_features_stack_stride16_and_pooled_stride8():
    rng = np.random.default_rng(0)
    feats = _features(rng, (slice(1, 3), slice(1, 3)))
    x = position_features(feats.f16[0], feats.f8[0])
    assert x.shape == (48, 152) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, :112], feats.f16[0].reshape(112, -1).T)
    np.testing.assert_allclose(x[0, 112:], feats.f8[0, :, :2, :2].mean((1, 2)), rtol=1e-5)


def test_target_model_finds_the_object_where_it_moved():
    rng = np.random.default_rng(1)
    first = (slice(1, 3), slice(1, 3))
    target = np.zeros((6, 8), np.float32)
    target[first] = 1
    model = TargetModel()
    assert 5 not in model
    model.add(5, model.design(_positions(rng, first)), target.ravel())
    assert 5 in model
    moved = (slice(3, 5), slice(5, 7))
    score = model.score(5, model.design(_positions(rng, moved))).reshape(6, 8)
    inside = np.zeros((6, 8), bool)
    inside[moved] = True
    assert score[inside].min() > score[~inside].max() and score[inside].mean() > 0.5 > score[~inside].mean()


def test_a_frame_without_the_object_adds_nothing():
    rng = np.random.default_rng(2)
    model = TargetModel()
    model.add(1, model.design(_positions(rng, (slice(0, 1), slice(0, 1)))), np.zeros(48, np.float32))
    assert 1 not in model


def test_drop_unlike_removes_unlike_parts_and_keeps_the_largest():
    logits = -np.ones((40, 60), np.float32)
    logits[5:20, 5:20] = 4  # the object (largest part)
    logits[25:35, 40:50] = 4  # a look-alike the target model rejects
    logits[25:30, 5:10] = 4  # a small part it accepts
    score = np.zeros_like(logits)
    score[5:20, 5:20] = 0.9
    score[25:30, 5:10] = 0.6
    out = drop_unlike(logits, score, 0.15)
    assert (out[5:20, 5:20] == 4).all() and (out[25:30, 5:10] == 4).all()
    assert (out[25:35, 40:50] < 0).all()
    # the largest part stays even where every part scores low
    assert np.array_equal(drop_unlike(logits, np.zeros_like(score), 0.15)[5:20, 5:20], logits[5:20, 5:20])
    single = -np.ones((10, 10), np.float32)
    single[2:5, 2:5] = 3
    assert np.array_equal(drop_unlike(single, np.zeros_like(single), 0.5), single)
