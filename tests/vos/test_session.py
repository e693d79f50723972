"""TrackingSession: masks on chosen frames, objects followed forward and backward, frames yielded in
order, on synthetic scenes with exact ground truth."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from tests.vos.vos_helpers import make_scene, write_scene
from vidseg.errors import InputError
from vidseg.eval.metrics import jaccard
from vidseg.io import open_video
from vidseg.io.container import ContainerReader
from vidseg.io.frames import Frame, VideoInfo
from vidseg.io.reverse import REVERSE_CHUNK
from vidseg.io.source import VideoReader
from vidseg.vos import ClassicalConfig, ClassicalTracker, TrackingSession


def frames_of(scene, log=None) -> Iterator[Frame]:
    for t in range(scene.n_frames):
        if log is not None:
            log.append(t)
        yield Frame(index=t, time=t / 30, stem=f"{t:05d}", image=scene.render(t)[0])


def only(labels: np.ndarray, obj: int) -> np.ndarray:
    return np.where(labels == obj, obj, 0).astype(np.uint8)


def test_forward_streams_and_starts_at_the_first_prompt(scene_factory, iou):
    scene = scene_factory("cross", 24)
    read: list[int] = []
    session = TrackingSession(frames_of(scene, read), "classical-fast")
    g3 = scene.render(3)[1]
    session.add_mask(3, np.where(g3 == 1, 1, 0))
    session.add_mask(3, np.where(g3 == 2, 2, 0))  # masks on one frame merge
    scores = []
    for t, (fr, lab) in enumerate(session.propagate("forward")):
        assert fr.index == t and read[-1] == t  # one frame read per frame yielded
        if t < 3:
            assert not lab.any()
        elif t == 3:
            assert np.array_equal(lab, g3)
        else:
            gt = scene.render(t)[1]
            scores.append((iou(lab == 1, gt == 1) + iou(lab == 2, gt == 2)) / 2)
    assert len(scores) == 20 and np.mean(scores) > 0.7


@pytest.mark.parametrize("source", ["folder", "video"])
def test_object_given_only_on_the_last_frame_is_tracked_on_every_frame(tmp_path, source):
    scene = make_scene("rotate_scale", 24)
    gts = [scene.render(t)[1] for t in range(24)]
    with open_video(write_scene(scene, tmp_path / "clip", source)) as video:
        session = TrackingSession(video, "classical", spill_dir=tmp_path)
        session.add_mask(23, gts[23])
        out = list(session.propagate())
    assert [f.index for f, _ in out] == list(range(24))
    js = [jaccard(lab == 1, gts[t] == 1) for t, (_, lab) in enumerate(out)]
    assert min(js) > 0.85
    assert np.mean([jaccard(gts[23] == 1, g == 1) for g in gts[:12]]) < 0.5  # copying the mask back fails
    assert [p.name for p in tmp_path.iterdir()] == ["clip" if source == "folder" else "clip.mp4"]  # spill gone


def test_objects_given_first_and_midway_both_appear_on_every_frame(tmp_path):
    scene = make_scene("cross", 24)
    gts = [scene.render(t)[1] for t in range(24)]
    with open_video(write_scene(scene, tmp_path / "clip")) as video:
        session = TrackingSession(video, ClassicalConfig())  # an engine's config makes the engine
        session.add_mask(0, only(gts[0], 1))
        session.add_mask(12, only(gts[12], 2))
        out = [lab for _, lab in session.propagate("both")]
        forward = [lab for _, lab in session.propagate("forward")]
    assert isinstance(session.tracker, ClassicalTracker)
    for obj in (1, 2):
        assert all((lab == obj).any() for lab in out)
        assert np.mean([jaccard(lab == obj, gt == obj) for lab, gt in zip(out, gts, strict=True)]) > 0.85
    assert np.mean([jaccard(lab == 2, gt == 2) for lab, gt in zip(out[:12], gts, strict=False)]) > 0.85
    # forward: object 2 only from frame 12, object 1 as with both (given on frame 0)
    assert not any((lab == 2).any() for lab in forward[:12])
    assert all(np.array_equal(a == 1, b == 1) for a, b in zip(out, forward, strict=True))


def test_forward_is_what_stepping_the_tracker_gives(tmp_path):
    scene = make_scene("translate", 12)
    with open_video(write_scene(scene, tmp_path / "clip")) as video:
        session = TrackingSession(video, "classical-fast")
        session.add_mask(4, scene.render(4)[1])
        got = [lab for _, lab in session.propagate("forward")]
        tracker = ClassicalTracker("fast")
        expected = [np.zeros_like(got[0])] * 4 + [
            tracker.step(f.image, scene.render(4)[1] if f.index == 4 else None) for f in video if f.index >= 4]
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def test_backward_tracks_down_from_the_last_mask_and_leaves_later_frames_empty(tmp_path):
    scene = make_scene("translate", 16)
    gts = [scene.render(t)[1] for t in range(16)]
    with open_video(write_scene(scene, tmp_path / "clip")) as video:
        session = TrackingSession(video, "classical")
        session.add_mask(10, gts[10])
        out = [lab for _, lab in session.propagate("backward")]
    assert np.array_equal(out[10], gts[10])
    assert min(jaccard(out[t] == 1, gts[t] == 1) for t in range(10)) > 0.85
    assert not any(lab.any() for lab in out[11:])
    report = session.report
    assert report.direction == "backward" and report.objects[0].frames_expected == 11


def test_backward_needs_random_access(scene_factory, tmp_path, make_video):
    scene = scene_factory("translate", 6)
    session = TrackingSession(frames_of(scene), "classical-fast")
    session.add_mask(3, scene.render(3)[1])
    with pytest.raises(InputError, match="first given on frame 3.*random access.*--direction forward"):
        next(session.propagate())
    v = make_video(tmp_path, n_frames=6, audio=False)
    with ContainerReader(str(v.path), live=True) as live:
        session = TrackingSession(live, "classical-fast")
        session.add_mask(2, v.labels[2])
        with pytest.raises(InputError, match="live stream"):
            next(session.propagate("backward"))
        assert [f.index for f, _ in session.propagate("forward")] == list(range(6))


def test_prompt_beyond_the_end_is_an_error(scene_factory, tmp_path):
    scene = scene_factory("translate", 5)
    session = TrackingSession(frames_of(scene), "classical-fast")
    session.add_mask(0, scene.render(0)[1])
    session.add_mask(9, scene.render(0)[1])
    with pytest.raises(InputError, match="frame 9"):
        list(session.propagate("forward"))
    with open_video(write_scene(scene, tmp_path / "clip")) as video:  # known length: said at once
        session = TrackingSession(video, "classical-fast")
        session.add_mask(9, scene.render(0)[1])
        with pytest.raises(InputError, match="frame 9 but the video has 5 frames"):
            next(session.propagate())


def test_session_errors(scene_factory):
    scene = scene_factory("translate", 3)
    session = TrackingSession(frames_of(scene), "classical-fast")
    with pytest.raises(InputError, match="no mask"):
        list(session.propagate())
    with pytest.raises(InputError, match="nothing has been tracked"):
        _ = session.report
    session.add_mask(0, scene.render(0)[1])
    with pytest.raises(InputError, match="unknown direction 'sideways'"):
        list(session.propagate("sideways"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="empty"):
        session.add_mask(0, np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match="negative"):
        session.add_mask(-1, scene.render(0)[1])
    with pytest.raises(InputError, match="2-D"):
        session.add_mask(0, np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="unknown engine"):
        TrackingSession(frames_of(scene), "turbo")


class RenderedVideo(VideoReader):
    """A scene rendered on demand, logging how many decoded images are alive at once."""

    def __init__(self, scene) -> None:
        self.scene = scene
        self.info = VideoInfo(path="rendered", kind="container", width=scene.width, height=scene.height,
                              frame_count=scene.n_frames, fps=None, duration=None, codec=None, time_base=None)
        self._images: list[weakref.ref[np.ndarray]] = []
        self.most_alive = 0

    def read(self, index: int) -> Frame:
        image = self.scene.render(index)[0]
        self._images = [r for r in self._images if r() is not None] + [weakref.ref(image)]
        self.most_alive = max(self.most_alive, len(self._images))
        return Frame(index=index, time=index / 30, stem=f"{index:05d}", image=image)

    def __iter__(self) -> Iterator[Frame]:
        return (self.read(i) for i in range(self.scene.n_frames))


def test_tracking_back_over_a_long_video_holds_one_chunk_of_frames():
    scene = make_scene("translate", 150)
    video = RenderedVideo(scene)
    session = TrackingSession(video, "classical-fast")
    session.add_mask(149, scene.render(149)[1])
    for frame, labels in session.propagate():
        assert labels.shape == frame.image.shape[:2]
    assert REVERSE_CHUNK < video.most_alive <= REVERSE_CHUNK + 4  # not all 150
