"""The propagation plan: each pass tracks up to the neighbouring user-set frames (never across
them) and writes at least up to the midpoint (nearest wins where the other side is missing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidseg.annotate.propagate import Pass, Propagator, plan
from vidseg.annotate.session import AnnotateSession
from vidseg.errors import InputError

from .conftest import Clip, H, N, W


@pytest.mark.parametrize("user, anchors, direction, expected", [
    ([0], [0], "both", [Pass(0, 9)]),
    ([5], [5], "both", [Pass(5, 9), Pass(5, 0)]),
    ([0, 6], [0, 6], "both", [Pass(0, 3, 5), Pass(6, 9), Pass(6, 4, 1)]),
    # a correction on 6 between 0 and 9: only frames strictly between them
    ([0, 6, 9], [6], "both", [Pass(6, 7, 8), Pass(6, 4, 1)]),
    ([0, 6, 9], [6], "forward", [Pass(6, 8)]),
    ([0, 6, 9], [6], "backward", [Pass(6, 1)]),
    ([3, 4], [3, 4], "both", [Pass(3, 0), Pass(4, 9)]),  # neighbours: nothing between them
    ([4, 6], [6], "both", [Pass(6, 9), Pass(6, 6, 5)]),  # 5 is 4's when nothing blends it
    ([9], [9], "forward", []),
])
def test_plan(user, anchors, direction, expected) -> None:
    assert plan(user, anchors, 10, direction) == expected


def test_every_frame_is_planned_once_and_user_frames_never() -> None:
    user = [2, 7, 8, 15]
    covered = [t for p in plan(user, user, 20) for t in range(min(p.anchor, p.stop), max(p.anchor, p.stop) + 1)
               if t != p.anchor]
    assert sorted(covered) == [t for t in range(20) if t not in user]
    tracked = {t for p in plan(user, user, 20) for t in range(min(p.anchor, p.reach), max(p.anchor, p.reach) + 1)}
    assert tracked == set(range(20))  # ... and tracked from both sides between user-set frames


@pytest.mark.parametrize("user, anchors, direction, message", [
    ([0], [3], "both", "not user-set"),
    ([0], [0], "sideways", "unknown direction"),
])
def test_bad_plans(user, anchors, direction, message) -> None:
    with pytest.raises(InputError, match=message):
        plan(user, anchors, 10, direction)


class _Constant:
    """A fake engine: every frame gets the last given mask, with probability ``SURE`` on it."""

    SURE = 0.55

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None
        self.ids: list[int] = []

    def step(self, image, mask=None, objects=None):  # type: ignore[no-untyped-def]
        if mask is not None:
            self.mask, self.ids = mask.copy(), [int(v) for v in np.unique(mask) if v]
        assert self.mask is not None
        return self.mask.copy()

    def probabilities(self) -> tuple[list[int], np.ndarray]:
        assert self.mask is not None
        p = np.stack([np.where(self.mask == o, self.SURE, 0.0) for o in self.ids]).astype(np.float32)
        return self.ids, np.concatenate([1 - p.sum(0, keepdims=True), p])

    def reset(self) -> None:
        self.mask = None


def test_frames_between_user_frames_blend_both_sides_by_distance(clip: Clip, tmp_path: Path) -> None:
    session = AnnotateSession(clip.path, tmp_path / "p.vidseg")
    try:
        session.propagator = Propagator(session.project, clip.path, tracker_factory=_Constant)
        p = session.project
        p.add_object()
        left, right, both = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8), (slice(50, 70), slice(70, 90))
        left[20:40, 10:40] = 1
        right[20:40, 120:150] = 1
        left[both] = right[both] = 1
        p.set_user_mask(0, left)
        p.set_user_mask(10, right)
        session.propagator.start()
        assert session.propagator.wait(60) and session.propagator.job.error is None
        for t in range(1, 10):  # 55 % sure on one side, absent on the other: below one half
            m = p.mask(t)
            assert not m[25:35, 15:35].any() and not m[25:35, 125:145].any()
            assert (m[55:65, 75:85] == 1).all()  # 55 % sure on both sides: kept
        assert np.array_equal(p.mask(0), left) and np.array_equal(p.mask(10), right)
        for t in range(11, N):  # beyond the last user-set frame: that frame's pass alone
            assert np.array_equal(p.mask(t), right)
        prob = session.propagator.probability(12, 1)
        assert prob is not None and prob.shape == (H, W) and abs(float(prob[30, 135]) - 0.55) < 0.02
        assert session.propagator.probability(10, 1) is None  # user-set: none
    finally:
        session.close()


class _Drifting(_Constant):
    """A fake engine that drifts: the last given mask (90 % sure), and object 1 growing 10 % surer
    a frame on ``DRIFT``, a patch no mask had (as a tracker spreads onto a look-alike)."""

    SURE = 0.9
    DRIFT = (slice(80, 100), slice(120, 150))  # its inside: 82:98, 122:146

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0

    def step(self, image, mask=None, objects=None):  # type: ignore[no-untyped-def]
        if mask is not None:
            self.mask, self.ids, self.frames = mask.copy(), [int(v) for v in np.unique(mask) if v], 0
        else:
            self.frames += 1
        ids, p = self.probabilities()
        return np.asarray([0, *ids], np.uint8)[np.argmax(p, axis=0)]

    def probabilities(self) -> tuple[list[int], np.ndarray]:
        ids, p = super().probabilities()
        p[1 + ids.index(1)][self.DRIFT] = min(0.9, 0.1 * self.frames)
        p[0] = np.clip(1 - p[1:].sum(0), 0, 1)
        return ids, p


@pytest.mark.parametrize("difference", [True, False])
def test_a_correction_carries_only_what_the_user_changed(clip: Clip, tmp_path: Path, difference: bool) -> None:
    session = AnnotateSession(clip.path, tmp_path / "p.vidseg")
    try:
        prop = Propagator(session.project, clip.path, tracker_factory=_Drifting, difference=difference)
        session.propagator = prop
        p = session.project
        p.add_object()
        first = np.zeros((H, W), np.uint8)
        first[10:40, 10:40] = 1  # A
        first[50:70, 60:90] = 1  # B
        p.set_user_mask(0, first)
        prop.start()
        assert prop.wait(60) and prop.job.error is None
        assert (p.mask(N - 1)[_Drifting.DRIFT] == 1).all()  # drifted onto the patch far from frame 0
        fixed = p.mask(6).copy()
        fixed[50:70, 60:90] = 0  # the user removes B on frame 6 (the drift there stays: not seen)
        p.set_user_mask(6, fixed)
        prop.start()
        assert prop.wait(60) and prop.job.error is None
        for t in range(7, N):
            m = p.mask(t)
            assert (m[12:38, 12:38] == 1).all() and not m[50:70, 60:90].any()  # the change is carried
            # on the patch, the frames keep what they had (difference) or restart from 6 (replace)
            assert (m[82:98, 122:146] == 1).all() == (difference or t - 6 >= 6), t
        assert (p.mask(1)[54:66, 64:86] == 1).all()  # next to frame 0, B stays
        again = p.mask(6).copy()
        again[10:40, 10:25] = 0  # a second correction on 6: A's left half goes too
        p.set_user_mask(6, again)
        # the change is taken against the mask the last pass from 6 started from
        assert np.array_equal(prop._mask_before(6, prop._sides[(6, 1)], again), fixed)
        prop.start()
        assert prop.wait(60) and prop.job.error is None
        for t in range(7, N):
            m = p.mask(t)
            assert not m[12:38, 12:23].any() and (m[12:38, 27:38] == 1).all() and not m[50:70, 60:90].any()
            assert (m[82:98, 122:146] == 1).all() == (difference or t - 6 >= 6), t
    finally:
        session.close()
