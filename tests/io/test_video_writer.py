"""Overlay/mask videos: same frame count, exact timestamps, copied audio, odd sizes, atomicity."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from vidseg.errors import OutputError
from vidseg.io import MaskVideoWriter, OverlayVideoWriter, draw_overlay, open_video
from vidseg.io.atomic import TMP_PREFIX, temp_prefix
from vidseg.io.audio import AudioCopier


def _audio_duration(path) -> tuple[str, float, float]:
    """(codec, total decoded seconds, seconds of one audio frame) of the first audio stream."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        samples, frame_len = 0, 0
        for fr in c.decode(s):
            samples += fr.samples
            frame_len = max(frame_len, fr.samples)
        return s.codec_context.name, samples / s.codec_context.sample_rate, frame_len / s.codec_context.sample_rate


@pytest.mark.parametrize(("vfr", "name"), [(False, "out.mp4"), (True, "out.mp4"), (False, "out.mkv")])
def test_overlay_round_trip_keeps_timestamps_and_audio(tmp_path, make_video, vfr, name):
    v = make_video(tmp_path, n_frames=12, vfr=vfr)
    out = tmp_path / name
    with open_video(v.path) as src, OverlayVideoWriter(out, source=src) as w:
        for f in src:
            w.write_frame(f, draw_overlay(f.image, v.labels[f.index]))
    with open_video(out) as back:
        assert len(back) == v.n_frames
        assert back.info.variable_frame_rate == vfr
        assert back.info.fps == Fraction(30000, 1001) or vfr
        tol = 1e-3 if name.endswith(".mkv") else 1e-9  # matroska stores milliseconds
        assert [f.time for f in back] == pytest.approx(v.times, abs=tol)
    codec, dur, one = _audio_duration(out)
    _, src_dur, _ = _audio_duration(v.path)
    assert codec == "aac"
    assert abs(dur - src_dur) <= one + 1e-9
    assert not list(tmp_path.glob(TMP_PREFIX + "*"))


def test_ntsc_time_base_is_exact(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=5, audio=False)
    out = tmp_path / "o.mp4"
    with open_video(v.path) as src, OverlayVideoWriter(out, source=src, audio=False) as w:
        for f in src:
            w.write_frame(f, f.image)
    with open_video(out) as back:
        assert back.info.fps == Fraction(30000, 1001)
        assert [f.pts * f.time_base for f in back] == [Fraction(1001 * k, 30000) for k in range(5)]
        assert back.info.audio_codec is None


def test_odd_size_is_padded_to_even(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=4, size=(321, 241), audio=False)
    out = tmp_path / "odd.mp4"
    with open_video(v.path) as src:
        assert (src.info.width, src.info.height) == (321, 241)
        with OverlayVideoWriter(out, source=src) as w:
            for f in src:
                w.write_frame(f, f.image)
    with open_video(out) as back:
        assert len(back) == 4 and (back.info.width, back.info.height) == (322, 242)


def test_folder_source_uses_fps(tmp_path, make_frames):
    folder, _ = make_frames(tmp_path / "f", n=4, size=(64, 48))
    out = tmp_path / "f.mp4"
    with open_video(folder, fps=Fraction(25)) as src, OverlayVideoWriter(out, source=src) as w:
        for f in src:
            w.write_frame(f, f.image)
    with open_video(out) as back:
        assert back.info.fps == 25 and [f.time for f in back] == pytest.approx([0, 0.04, 0.08, 0.12])


def test_exception_inside_writer_leaves_nothing(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=4, audio=True)
    out = tmp_path / "crash.mp4"
    with pytest.raises(RuntimeError), open_video(v.path) as src, OverlayVideoWriter(out, source=src) as w:
        for f in src:
            w.write_frame(f, f.image)
            raise RuntimeError("boom")
    assert not out.exists()
    assert not list(tmp_path.glob(TMP_PREFIX + "*"))


def test_rerun_after_crash_removes_stale_temporary(tmp_path, make_video, dead_pid):
    v = make_video(tmp_path, n_frames=3, audio=False)
    out = tmp_path / "o.mp4"
    stale = tmp_path / f"{temp_prefix('o.mp4', pid=dead_pid)}x1y2.mp4"
    other = tmp_path / f"{temp_prefix('other.mp4', pid=dead_pid)}abcd.mp4"  # another output's: left alone
    stale.write_bytes(b"half a video")
    other.write_bytes(b"busy")
    with open_video(v.path) as src, OverlayVideoWriter(out, source=src) as w:
        for f in src:
            w.write_frame(f, f.image)
    assert not stale.exists() and other.exists()
    with open_video(out) as back:
        assert len(back) == 3


def test_existing_output_refused_without_force(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=3, audio=False)
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"old")
    with open_video(v.path) as src:
        with pytest.raises(OutputError, match="already exists"):
            OverlayVideoWriter(out, source=src)
        assert out.read_bytes() == b"old"
        with OverlayVideoWriter(out, source=src, force=True) as w:
            for f in src:
                w.write_frame(f, f.image)
    with open_video(out) as back:
        assert len(back) == 3


def test_mask_video_palette_and_grey(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=4, audio=True)
    with open_video(v.path) as src:
        with MaskVideoWriter(tmp_path / "m.mp4", source=src) as w:
            for f in src:
                w.write(f, v.labels[f.index])
        with MaskVideoWriter(tmp_path / "g.mkv", source=src, mode="grey", codec="ffv1", pix_fmt="bgr0") as w:
            for f in src:
                w.write(f, v.labels[f.index])
    with open_video(tmp_path / "m.mp4") as back:
        assert len(back) == 4 and back.info.audio_codec is None
    with open_video(tmp_path / "g.mkv") as back:
        for f in back:
            np.testing.assert_array_equal(f.image[..., 0], v.labels[f.index])


def test_audio_transcode_to_aac(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=6, audio=True)
    out_path = tmp_path / "a.mp4"
    with av.open(str(out_path), "w") as out:
        cp = AudioCopier(str(v.path), 1, out, transcode=True)
        out.start_encoding()
        cp.finish()
        assert cp.packets_written > 0
    codec, dur, one = _audio_duration(out_path)
    _, src_dur, _ = _audio_duration(v.path)
    assert codec == "aac" and abs(dur - src_dur) <= 2 * one


def test_avi_with_pcm_audio_becomes_aac_in_mp4(tmp_path):
    src_path = tmp_path / "s.avi"
    with av.open(str(src_path), "w") as out:
        vs = out.add_stream("mpeg4", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        a_s = out.add_stream("pcm_s16le", rate=16000)
        a_s.layout = "mono"
        for t in range(10):
            vf = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * t, np.uint8), format="rgb24")
            vf.pts, vf.time_base = t, Fraction(1, 25)
            for p in vs.encode(vf):
                out.mux(p)
            af = av.AudioFrame.from_ndarray(np.zeros((1, 640), np.int16), format="s16", layout="mono")
            af.sample_rate, af.pts, af.time_base = 16000, 640 * t, Fraction(1, 16000)
            for p in a_s.encode(af):
                out.mux(p)
        for s in (vs, a_s):
            for p in s.encode():
                out.mux(p)
    out_path = tmp_path / "o.mp4"
    with open_video(src_path) as src:
        assert src.info.audio_codec == "pcm_s16le" and len(src) == 10
        seq = [f.image for f in src]
        np.testing.assert_array_equal(src.read(7).image, seq[7])
        with OverlayVideoWriter(out_path, source=src) as w:
            for f in src:
                w.write_frame(f, f.image)
    with open_video(out_path) as back:
        assert len(back) == 10 and back.info.fps == 25 and back.info.audio_codec == "aac"
    _, dur, one = _audio_duration(out_path)
    assert abs(dur - 0.4) <= 2 * one


@pytest.mark.parametrize("name", ["o.webm", "o.xyz"])
def test_container_that_cannot_take_the_codec_fails_at_once(tmp_path, make_video, name):
    v = make_video(tmp_path, n_frames=2, audio=False)
    with open_video(v.path) as src, pytest.raises(OutputError, match="cannot write libx264"):
        OverlayVideoWriter(tmp_path / name, source=src)
    assert not (tmp_path / name).exists() and not list(tmp_path.glob(TMP_PREFIX + "*"))


def test_output_has_a_keyframe_every_gop(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=25, size=(64, 48), audio=False)
    out = tmp_path / "g.mp4"
    with open_video(v.path) as src, OverlayVideoWriter(out, source=src, gop=6) as w:
        for f in src:
            w.write_frame(f, f.image)
    with av.open(str(out)) as c:
        keys = sorted(p.pts for p in c.demux(video=0) if p.size and p.is_keyframe)
    steps = np.diff(keys) // 1001
    assert len(keys) >= 4 and steps.max() <= 6
