from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.io.frames import Frame
from vidseg.vos import TrackingSession


def frames_of(scene, log=None) -> Iterator[Frame]:
    for t in range(scene.n_frames):
        if log is not None:
            log.append(t)
        yield Frame(index=t, time=t / 30, stem=f"{t:05d}", image=scene.render(t)[0])


def test_streams_and_starts_at_the_first_prompt(scene_factory, iou):
    scene = scene_factory("cross", 24)
    read: list[int] = []
    session = TrackingSession(frames_of(scene, read), "fast")
    g3 = scene.render(3)[1]
    session.add_mask(3, np.where(g3 == 1, 1, 0))
    session.add_mask(3, np.where(g3 == 2, 2, 0))  # masks on one frame merge
    scores = []
    for t, (fr, lab) in enumerate(session.propagate()):
        assert fr.index == t and read[-1] == t  # one frame read per frame yielded
        if t < 3:
            assert not lab.any()
        elif t == 3:
            assert np.array_equal(lab, g3)
        else:
            gt = scene.render(t)[1]
            scores.append((iou(lab == 1, gt == 1) + iou(lab == 2, gt == 2)) / 2)
    assert len(scores) == 20 and np.mean(scores) > 0.7


def test_prompt_beyond_the_end_is_an_error(scene_factory):
    scene = scene_factory("translate", 5)
    session = TrackingSession(frames_of(scene), "fast")
    session.add_mask(0, scene.render(0)[1])
    session.add_mask(9, scene.render(0)[1])
    with pytest.raises(InputError, match="frame 9"):
        list(session.propagate())


def test_session_errors(scene_factory):
    scene = scene_factory("translate", 3)
    session = TrackingSession(frames_of(scene), "fast")
    with pytest.raises(InputError, match="no mask"):
        list(session.propagate())
    with pytest.raises(InputError, match="empty"):
        session.add_mask(0, np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match="negative"):
        session.add_mask(-1, scene.render(0)[1])
    with pytest.raises(InputError, match="2-D"):
        session.add_mask(0, np.zeros((4, 4, 3), np.uint8))
