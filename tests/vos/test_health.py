"""Tracking health: lost, refound and area jumps from hand-made label maps, and from tracking
synthetic clips where the truth is known."""

from __future__ import annotations

import json

import numpy as np

from tests.vos.vos_helpers import make_scene, write_scene
from vidseg.io import open_video
from vidseg.vos import TrackingSession
from vidseg.vos.health import HealthMonitor


def square(size: int, x: int = 40, y: int = 40, obj: int = 1, shape: tuple[int, int] = (100, 120)) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[y:y + size, x:x + size] = obj
    return labels


def test_loss_refind_and_area_jump_with_their_frames():
    monitor = HealthMonitor({1: {0: 100}, 2: {3: 64}})
    sizes = [10, 10, 10, 10, 10, 0, 1, 0, 10, 10, 10, 20, 20]  # 1 px (1% of 100) is still lost
    for t, s in enumerate(sizes):
        labels = square(s) if s else np.zeros((100, 120), np.uint8)
        labels[5:13, 90:98] = 2
        monitor.update(t, labels, [1, 2] if t >= 3 else [1])
    report = monitor.report()
    one, two = report.objects
    assert one.lost == [(5, 7)] and one.refound == [8] and one.area_jumps == [11]
    assert one.frames_expected == 13 and one.frames_tracked == 11 and one.first_given == 0
    assert one.summary() == "object 1 lost at frames 5-7, refound at 8, area jumped at frames 11"
    assert two.ok and two.summary() is None and two.frames_expected == 10 and two.first_given == 3
    assert report.problems() == [one.summary()] and not report.ok
    doc = json.loads(report.to_json())
    assert doc["objects"][0]["lost"] == [[5, 7]] and doc["objects"][1]["ok"] is True


def test_leaving_through_the_border_is_no_jump_and_a_loss_can_last_to_the_end():
    monitor = HealthMonitor({1: {0: 400}})
    xs = [40, 60, 80, 100, 110, 116, 125, 130]  # slides out on the right (width 120)
    for t, x in enumerate(xs):
        monitor.update(t, square(20, x=x), [1])
    (obj,) = monitor.report().objects
    assert obj.area_jumps == [] and obj.lost == [(6, 7)] and obj.refound == []


def test_a_correction_resets_the_reference_area():
    monitor = HealthMonitor({1: {0: 100, 3: 900}})
    for t, s in enumerate([10, 10, 10, 30, 30, 30]):
        monitor.update(t, square(s), [1])
    assert monitor.report().objects[0].ok  # the jump at frame 3 is the given mask


def _track(tmp_path, kind: str, n: int):
    scene = make_scene(kind, n)
    with open_video(write_scene(scene, tmp_path / kind)) as video:
        session = TrackingSession(video, "classical")
        session.add_mask(0, scene.render(0)[1])
        for _ in session.propagate():
            pass
    gone = [t for t in range(n) if not (scene.render(t)[1] == 1).any()]
    return session.report, gone


def test_an_object_that_leaves_the_frame_is_lost_then_refound(tmp_path):
    report, gone = _track(tmp_path, "leave", 40)
    (obj,) = report.objects
    assert len(obj.lost) == 1 and len(obj.refound) == 1
    (start, end), back = obj.lost[0], obj.refound[0]
    assert start <= gone[0] and gone[-1] <= end and back == end + 1 <= gone[-1] + 4
    assert obj.summary() is not None and obj.summary().startswith(f"object 1 lost at frames {start}-{end}")
    assert obj.mean_confidence is not None and 0.5 < obj.mean_confidence <= 1.0


def test_a_healthy_clip_reports_nothing(tmp_path):
    report, gone = _track(tmp_path, "rotate_scale", 30)
    assert not gone and report.ok and report.problems() == []
    assert report.objects[0].frames_tracked == report.frames == 30
