"""End to end: `vidseg track` on a generated clip with audio, through the CLI entry point."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidseg.cli.main import main
from vidseg.io import open_video
from vidseg.io.palette import read_mask, write_mask
from vidseg.synthetic import demo_scene, encode_clip, motion_scene, write_masks, write_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("clip")
    scene = demo_scene(width=160, height=120, n_frames=24)
    write_video(scene, d / "clip.mp4", fps=Fraction(30000, 1001), audio=True)
    write_masks(scene, d / "gt")
    return d / "clip.mp4", d / "gt"


def _video_times(path: Path) -> tuple[list[float], bool, float]:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        times = [float(f.pts * f.time_base) for f in c.decode(vs)]
    with av.open(str(path)) as c:
        has_audio = len(c.streams.audio) > 0
        dur = 0.0
        if has_audio:
            a = c.streams.audio[0]
            dur = sum(float(p.duration * a.time_base) for p in c.demux(a) if p.duration)
    return times, has_audio, dur


def test_track_writes_masks_overlay_and_rle(clip: tuple[Path, Path], tmp_path: Path) -> None:
    video, gt = clip
    out, ov, rle = tmp_path / "masks", tmp_path / "ov.mp4", tmp_path / "m.json"
    rc = main(["track", str(video), "-m", str(gt / "00000.png"), "-o", str(out),
               "--overlay", str(ov), "--rle", str(rle), "-e", "classical", "-q"])
    assert rc == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [f"{i:05d}.png" for i in range(24)]
    # the tracker follows the objects: mean IoU over frames well above zero for both objects
    ious = []
    for i in range(1, 24):
        pred, true = read_mask(out / f"{i:05d}.png"), read_mask(gt / f"{i:05d}.png")
        for k in (1, 2):
            union = np.logical_or(pred == k, true == k).sum()
            if union:
                ious.append(np.logical_and(pred == k, true == k).sum() / union)
    assert float(np.mean(ious)) > 0.6
    src_t, _, src_audio = _video_times(video)
    ov_t, has_audio, ov_audio = _video_times(ov)
    assert len(ov_t) == len(src_t) == 24
    assert np.allclose(ov_t, src_t, atol=1e-3)
    assert has_audio and abs(ov_audio - src_audio) < 0.05
    assert rle.stat().st_size > 0
    assert not list(tmp_path.glob(".vidseg-tmp-*"))


def test_track_refuses_existing_output_without_force(clip: tuple[Path, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    video, gt = clip
    out = tmp_path / "masks"
    out.mkdir()
    (out / "keep.png").write_bytes(b"x")
    rc = main(["track", str(video), "-m", str(gt / "00000.png"), "-o", str(out), "-e", "classical", "-q"])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert str(out) in err and len(err.splitlines()) == 1
    assert (out / "keep.png").read_bytes() == b"x"


def test_track_bad_mask_size_is_one_line_error(clip: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    video, _ = clip
    bad = tmp_path / "bad.png"
    write_mask(bad, np.ones((50, 50), np.uint8))
    rc = main(["track", str(video), "-m", str(bad), "-o", str(tmp_path / "o"), "-e", "classical", "-q"])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert "bad.png" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_track_missing_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["track", str(tmp_path / "nope.mp4"), "-m", str(tmp_path / "m.png"), "-o", str(tmp_path / "o")])
    assert rc == 1
    assert "nope.mp4" in capsys.readouterr().err


def test_track_usage_error_exit_2() -> None:
    assert main(["track"]) == 2


def test_truncated_video_keeps_the_frames_before_the_break(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    scene = demo_scene(width=96, height=64, n_frames=40)
    full = tmp_path / "full.mp4"
    encode_clip((scene.render(t)[0] for t in range(40)), full, audio=False,
                container_options={"movflags": "+faststart"})
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    write_mask(tmp_path / "m.png", scene.render(0)[1])
    full.unlink()
    out, ov, rle, report = tmp_path / "masks", tmp_path / "ov.mp4", tmp_path / "m.json", tmp_path / "r.json"
    rc = main(["track", str(cut), "-m", str(tmp_path / "m.png"), "-o", str(out), "--overlay", str(ov),
               "--rle", str(rle), "--report", str(report), "-e", "classical", "-q"])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert "cut.mp4" in err and "frame" in err and len(err.splitlines()) == 1
    # nothing looks finished: the frames done are under .partial names, which the error names
    assert not any(p.exists() for p in (out, ov, rle, report))
    partial = [tmp_path / "masks.partial", tmp_path / "ov.partial.mp4", tmp_path / "m.partial.json",
               tmp_path / "r.partial.json"]
    assert all(p.exists() and str(p) in err for p in partial)
    kept = sorted(partial[0].glob("*.png"))
    assert 5 <= len(kept) < 40
    assert [p.stem for p in kept] == [f"{i:05d}" for i in range(len(kept))]
    assert f"the {len(kept)} frame(s) tracked before it" in err
    with open_video(partial[1]) as back:
        assert len(back) == len(kept)
    assert len(json.loads(partial[2].read_text())["images"]) == len(kept)
    assert not list(tmp_path.glob(".vidseg-tmp-*"))
    # a complete run later replaces the stale partial outputs
    write_video(scene, full, audio=False)
    assert main(["track", str(full), "-m", str(tmp_path / "m.png"), "-o", str(out), "--overlay", str(ov),
                 "--rle", str(rle), "--report", str(report), "-e", "classical", "-q"]) == 0
    assert all(p.exists() for p in (out, ov, rle, report)) and not any(p.exists() for p in partial)


def test_objects_given_midway_are_tracked_back_and_reported(clip: tuple[Path, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    video, gt = clip
    both, forward, report = tmp_path / "both", tmp_path / "forward", tmp_path / "r" / "report.json"
    rc = main(["track", str(video), "-m", str(gt / "00012.png"), "--frame", "12", "-o", str(both),
               "--report", str(report), "-e", "classical", "-q"])
    assert rc == 0
    assert main(["track", str(video), "-m", str(gt / "00012.png"), "--frame", "12", "-o", str(forward),
                 "--direction", "forward", "-e", "classical", "-q"]) == 0
    ious: dict[int, list[float]] = {1: [], 2: []}
    for i in range(12):  # tracked back from frame 12 with --direction both, empty with forward
        pred, true = read_mask(both / f"{i:05d}.png"), read_mask(gt / f"{i:05d}.png")
        for k in (1, 2):
            union = np.logical_or(pred == k, true == k).sum()
            ious[k].append(np.logical_and(pred == k, true == k).sum() / union if union else 1.0)
        assert not read_mask(forward / f"{i:05d}.png").any()
    assert min(np.mean(v) for v in ious.values()) > 0.6
    doc = json.loads(report.read_text())
    assert doc["frames"] == 24 and doc["direction"] == "both"
    assert [o["object_id"] for o in doc["objects"]] == [1, 2]
    assert all(o["first_given"] == 12 and o["frames_expected"] == 24 for o in doc["objects"])
    assert list(both.iterdir()) and all(p.suffix == ".png" for p in both.iterdir())  # no report among the masks
    assert not list(report.parent.glob(".vidseg-tmp-*"))


def test_a_lost_object_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = motion_scene("leave", 40, width=160, height=120)
    write_video(scene, tmp_path / "leave.mp4", audio=False)
    write_mask(tmp_path / "m.png", scene.render(0)[1])
    rc = main(["track", str(tmp_path / "leave.mp4"), "-m", str(tmp_path / "m.png"), "-o", str(tmp_path / "o"),
               "-e", "classical", "-q"])
    assert rc == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.fullmatch(r"vidseg: warning: object 1 lost at frames \d+-\d+, refound at \d+", err[0])


def test_bad_direction_is_a_usage_error(clip: tuple[Path, Path], tmp_path: Path) -> None:
    video, gt = clip
    assert main(["track", str(video), "-m", str(gt / "00000.png"), "-o", str(tmp_path / "o"),
                 "--direction", "sideways"]) == 2


def test_real_clip_objects_given_on_later_frames_reach_the_first(shared_data: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    judo = shared_data / "real-clips" / "judo"
    if not judo.is_dir():
        pytest.skip(f"{judo} is absent")
    out = tmp_path / "masks"
    rc = main(["track", str(judo / "frames"), "-m", str(judo / "masks"), "-o", str(out), "-e", "classical-fast",
               "--report", str(tmp_path / "report.json"), "-q"])
    assert rc == 0
    assert "00005.png: mask is 853x480" in capsys.readouterr().err  # resized, with a warning
    given = {t: read_mask(judo / "masks" / f"{t:05d}.png") for t in (0, 5, 8, 13)}
    first = read_mask(out / "00000.png")
    for obj, t in ((2, 5), (3, 8), (4, 13)):  # tracked back to frame 0, at a plausible size
        ratio = (first == obj).sum() / (given[t] == obj).sum()
        assert 0.3 < ratio < 3, (obj, ratio)
    doc = json.loads((tmp_path / "report.json").read_text())
    assert all(o["frames_tracked"] == 16 for o in doc["objects"])


def test_live_stream_given_midway_needs_direction_forward(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from vidseg.errors import InputError
    from vidseg.io import open_video

    src = "lavfi:testsrc=size=64x48:rate=10:duration=2"
    try:
        open_video(src).close()
    except InputError as exc:  # an FFmpeg build without libavdevice
        pytest.skip(f"lavfi device unavailable: {exc}")
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 20:40] = 1
    write_mask(tmp_path / "m.png", mask)
    args = ["track", src, "-m", str(tmp_path / "m.png"), "--frame", "5", "-e", "classical", "-q"]
    assert main([*args, "-o", str(tmp_path / "both")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "live stream" in err and "--direction forward" in err
    assert not (tmp_path / "both").exists()
    assert main([*args, "-o", str(tmp_path / "fwd"), "--direction", "forward"]) == 0
    out = sorted((tmp_path / "fwd").glob("*.png"))
    assert len(out) == 20
    assert not any(read_mask(p).any() for p in out[:5]) and np.array_equal(read_mask(out[5]), mask)


def test_track_with_trained_weights(clip: tuple[Path, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from vidseg.vos.learned.weights import shipped_weights_dir

    video, gt = clip
    weights = tmp_path / "run" / "engine"  # as `vidseg train-engine -o run` exports an engine
    shutil.copytree(shipped_weights_dir(), weights)
    args = ["track", str(video), "-m", str(gt / "00000.png"), "-e", "fast", "-q"]
    assert main([*args, "-o", str(tmp_path / "shipped")]) == 0
    assert main([*args, "-o", str(tmp_path / "mine"), "--weights", str(weights)]) == 0
    for p in sorted((tmp_path / "shipped").glob("*.png")):
        assert np.array_equal(read_mask(p), read_mask(tmp_path / "mine" / p.name))
    capsys.readouterr()
    (weights / "decoder.onnx").write_bytes(b"not a graph")  # the card's SHA-256 no longer matches
    assert main([*args, "-o", str(tmp_path / "damaged"), "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip()
    assert "decoder.onnx" in err and "SHA-256" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "damaged").exists()
    auto = ["track", str(video), "--auto", "-q", "-o", str(tmp_path / "auto"), "--weights", str(weights)]
    assert main(auto) == 1
    assert "decoder.onnx" in capsys.readouterr().err and not (tmp_path / "auto").exists()
    classical = ["track", str(video), "-m", str(gt / "00000.png"), "-e", "classical", "-q"]
    assert main([*classical, "-o", str(tmp_path / "c"), "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip()
    assert "classical engine has no trained weights" in err and len(err.splitlines()) == 1
    assert main([*args, "-o", str(tmp_path / "d"), "--weights", str(tmp_path / "absent")]) == 2
    assert "--weights" in capsys.readouterr().err
