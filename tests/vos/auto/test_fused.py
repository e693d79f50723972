"""The fused tracker's rules with a stand-in engine and head (no model): the head's weight in each
frame's foreground, and a lost single object given back to the engine where the head sees it."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.vos.auto.fused import SalienceFusedTracker
from vidseg.vos.baseline import CopyTracker

H, W = 32, 48


class Head:
    """A stand-in head: the same probability map (at stride 4) for any features."""

    def __init__(self, prob: np.ndarray) -> None:
        self.prob = prob

    def __call__(self, feats: object) -> np.ndarray:
        return self.prob[None]


class Engine(CopyTracker):
    """The given mask repeated, except on frames listed as lost (then nothing), with features."""

    def __init__(self, lost: set[int]) -> None:
        super().__init__()
        self.lost, self.t, self.last_features = lost, -1, object()

    def step(self, image, mask=None, objects=None):
        self.t += 1
        labels = super().step(image, mask, objects)
        if mask is None and self.t in self.lost:
            labels = np.zeros_like(labels)
            self._last_full = np.zeros((H, W, 1), np.float32)
        return labels


def given() -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[8:24, 8:24] = 1
    return m


def salient_at(x0: int) -> np.ndarray:
    p = np.zeros((H // 4, W // 4), np.float32)
    p[2:6, x0 // 4:(x0 + 16) // 4] = 1.0
    return p


IMAGE = np.zeros((H, W, 3), np.uint8)


def test_a_lost_object_is_refound_where_the_head_sees_it_only_when_asked():
    for refind, expect in ((True, True), (False, False)):
        t = SalienceFusedTracker(Engine(lost={1}), Head(salient_at(28)), weight=0.0, refind=refind)  # type: ignore[arg-type]
        t.step(IMAGE, given())
        labels = t.step(IMAGE)
        assert labels[16, 36] == (1 if expect else 0) and not labels[16, 12]
        assert t.refound == (1 if refind else 0)


def test_the_heads_weight_decides_what_the_engine_and_head_disagree_on():
    engine_only = SalienceFusedTracker(Engine(lost=set()), Head(salient_at(28)), weight=0.0)  # type: ignore[arg-type]
    head_heavy = SalienceFusedTracker(Engine(lost=set()), Head(salient_at(28)), weight=0.6)  # type: ignore[arg-type]
    for t in (engine_only, head_heavy):
        t.step(IMAGE, given())
    a, b = engine_only.step(IMAGE), head_heavy.step(IMAGE)
    assert a[16, 12] == 1 and a[16, 36] == 0
    assert b[16, 12] == 0 and b[16, 36] == 1  # 0.6 of the head outweighs 0.4 of the engine
    ids, probs = head_heavy.probabilities()
    assert ids == [1] and probs.shape == (2, H, W) and np.allclose(probs.sum(0), 1.0, atol=1e-5)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_weight_outside_0_1_is_refused(weight):
    with pytest.raises(InputError, match="weight"):
        SalienceFusedTracker(Engine(lost=set()), Head(salient_at(0)), weight=weight)  # type: ignore[arg-type]
