"""The propagation plan: nearest user-set frame wins, user-set frames are never crossed."""

from __future__ import annotations

import pytest

from vidseg.annotate.propagate import Pass, plan
from vidseg.errors import InputError


@pytest.mark.parametrize("user, anchors, direction, expected", [
    ([0], [0], "both", [Pass(0, 9)]),
    ([5], [5], "both", [Pass(5, 9), Pass(5, 0)]),
    ([0, 6], [0, 6], "both", [Pass(0, 3), Pass(6, 9), Pass(6, 4)]),
    # a correction on 6 between 0 and 9: only frames strictly between them, nearest wins
    ([0, 6, 9], [6], "both", [Pass(6, 7), Pass(6, 4)]),
    ([0, 6, 9], [6], "forward", [Pass(6, 8)]),
    ([0, 6, 9], [6], "backward", [Pass(6, 1)]),
    ([3, 4], [3, 4], "both", [Pass(3, 0), Pass(4, 9)]),  # neighbours: nothing between them
    ([9], [9], "forward", []),
])
def test_plan(user, anchors, direction, expected) -> None:
    assert plan(user, anchors, 10, direction) == expected


def test_every_frame_is_planned_once_and_user_frames_never() -> None:
    user = [2, 7, 8, 15]
    covered = [t for p in plan(user, user, 20) for t in range(min(p.anchor, p.stop), max(p.anchor, p.stop) + 1)
               if t != p.anchor]
    assert sorted(covered) == [t for t in range(20) if t not in user]


@pytest.mark.parametrize("user, anchors, direction, message", [
    ([0], [3], "both", "not user-set"),
    ([0], [0], "sideways", "unknown direction"),
])
def test_bad_plans(user, anchors, direction, message) -> None:
    with pytest.raises(InputError, match=message):
        plan(user, anchors, 10, direction)
