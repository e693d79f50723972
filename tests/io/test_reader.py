"""Reading containers and frame folders: counts, timestamps, random access, rotation, VFR."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.io import open_video
from vidseg.io.container import live_source
from vidseg.io.natsort import natural_sorted


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def test_container_frames_timestamps_and_info(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=10, size=(96, 64))
    with open_video(v.path) as r:
        assert len(r) == 10
        info = r.info
        assert (info.width, info.height) == (96, 64)
        assert info.fps == Fraction(30000, 1001)
        assert info.codec == "h264" and info.audio_codec == "aac" and info.audio_rate == 48000
        assert not info.variable_frame_rate
        frames = list(r)
    assert [f.index for f in frames] == list(range(10))
    assert [f.stem for f in frames][:2] == ["00000", "00001"]
    assert [f.pts * f.time_base for f in frames] == [p * v.time_base for p in v.pts]
    assert all(f.image.dtype == np.uint8 and f.image.shape == (64, 96, 3) for f in frames)
    for f in frames:  # each decoded frame is its own rendered frame, not a neighbour
        scores = [_psnr(f.image, img) for img in v.images]
        assert int(np.argmax(scores)) == f.index and scores[f.index] > 25


def test_vfr_timestamps_kept_and_detected(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=9, vfr=True, audio=False)
    with open_video(v.path) as r:
        assert r.info.variable_frame_rate
        times = [f.time for f in r]
    assert times == pytest.approx(v.times, abs=1e-9)


@pytest.mark.parametrize(
    ("order", "preset"),
    [([7, 3, 0, 8, 8, 15, 14, 1, 30, 29], "ultrafast"), ([29, 0, 17, 16, 9, 10, 2], "veryfast")],
)
def test_random_access_equals_sequential(tmp_path, make_video, order, preset):
    v = make_video(tmp_path, n_frames=31, size=(64, 48), gop=8, audio=False, preset=preset)
    with open_video(v.path) as r:
        seq = [f.image for f in r]
        for i in order:
            f = r.read(i)
            assert f.index == i and f.stem == f"{i:05d}"
            np.testing.assert_array_equal(f.image, seq[i])
        with pytest.raises(IndexError):
            r.read(31)


def test_rotation_metadata_applied(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=3, size=(96, 64), rotation=90, audio=False)
    with open_video(v.path) as r:
        assert r.info.rotation == 90
        assert (r.info.width, r.info.height) == (64, 96)
        img = next(iter(r)).image
    assert img.shape == (96, 64, 3)
    assert _psnr(img, np.rot90(v.images[0])) > 25


def test_folder_natural_sort_and_stems(tmp_path, make_frames):
    names = ["frame10", "frame2", "frame1", "frame0"]
    folder, labels = make_frames(tmp_path / "f", n=4, names=names)
    with open_video(folder, fps=Fraction(24)) as r:
        assert len(r) == 4 and r.info.kind == "folder" and r.info.fps == 24
        frames = list(r)
        np.testing.assert_array_equal(r.read(3).image, frames[3].image)
    assert [f.stem for f in frames] == ["frame0", "frame1", "frame2", "frame10"]
    assert frames[1].time == pytest.approx(1 / 24)
    assert frames[0].pts is None


def test_natural_sorted_mixed_names(tmp_path):
    from pathlib import Path

    names = ["img_10.png", "img_9.png", "IMG_1.png", "img_100.png", "a.png"]
    assert [p.name for p in natural_sorted([Path(n) for n in names])] == [
        "a.png", "IMG_1.png", "img_9.png", "img_10.png", "img_100.png"]


def test_mkv_and_faststart_mp4_read(tmp_path, make_video):
    for name, kw in (("c.mkv", {}), ("c.mp4", {"faststart": True})):
        v = make_video(tmp_path, name=name, n_frames=7, audio=False, **kw)
        with open_video(v.path) as r:
            assert len(r) == 7
            assert [f.time for f in r] == pytest.approx(v.times, abs=1e-3)


def test_live_source_streams_forward_only():
    src = "lavfi:testsrc=size=64x48:rate=10:duration=2"
    try:
        r = open_video(src)
    except InputError as exc:  # an FFmpeg build without libavdevice
        pytest.skip(f"lavfi device unavailable: {exc}")
    with r:
        assert r.info.kind == "stream" and r.info.frame_count is None and r.info.path == src
        assert len(r) == 0 and r  # unknown length, still truthy
        assert r.read(12).index == 12
        assert r.read(10).index == 10  # recent frames stay readable
        with pytest.raises(InputError, match="cannot go back"):
            r.read(1)
        frames = list(r)  # goes on from the current position
    assert [f.index for f in frames] == list(range(12, 20))
    assert [f.time for f in frames] == pytest.approx([k / 10 for k in range(12, 20)])


def test_live_source_detection():
    assert live_source("rtsp://cam.local/stream") == ("rtsp://cam.local/stream", None)
    assert live_source("/dev/video0") == ("/dev/video0", "v4l2")
    assert live_source("avfoundation:0") == ("0", "avfoundation")
    assert live_source("clip.mp4") is None and live_source("C:/videos/a.mp4") is None


def test_davis_folder_from_shared_data(shared_data):
    seq = shared_data / "davis2016-dev" / "JPEGImages" / "480p" / "blackswan"
    if not seq.is_dir():
        pytest.skip(f"{seq} is absent")
    with open_video(seq) as r:
        assert len(r) == len(list(seq.glob("*.jpg")))
        assert (r.info.width, r.info.height) == (854, 480)
        first = [f for _, f in zip(range(12), r, strict=False)]
        np.testing.assert_array_equal(r.read(11).image, first[11].image)
        assert first[0].stem == "00000"


def test_raw_h264_without_timestamps_counts_and_reads(tmp_path):
    import av

    path = tmp_path / "raw.h264"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.options = {"g": "5"}
        for t in range(12):
            vf = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * t, np.uint8), format="rgb24")
            vf.pts, vf.time_base = t, Fraction(1, 25)
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    with open_video(path) as r:
        assert len(r) == 12
        seq = [f.image for f in r]
        for i in (7, 2, 11, 0):
            np.testing.assert_array_equal(r.read(i).image, seq[i])
    assert [float(img.mean()) for img in seq] == pytest.approx([20.0 * t for t in range(12)], abs=3)
