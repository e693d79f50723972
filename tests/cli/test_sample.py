"""`vidseg sample`: a video with audio at 29.97 fps and its exact ground-truth masks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vidseg.cli.main import main
from vidseg.io import open_video, read_mask
from vidseg.synthetic import demo_scene


def test_sample_video_and_masks(tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert main(["sample", str(out), "--frames", "8", "--size", "96x64", "-q"]) == 0
    assert capsys.readouterr().out == ""
    with open_video(out) as r:
        assert len(r) == 8 and r.info.fps == Fraction(30000, 1001)
        assert (r.info.width, r.info.height) == (96, 64) and r.info.audio_codec == "aac"
    masks = sorted((tmp_path / "demo_masks").glob("*.png"))
    assert [p.stem for p in masks] == [f"{i:05d}" for i in range(8)]
    scene = demo_scene(96, 64, 8)
    for i, p in enumerate(masks):
        np.testing.assert_array_equal(read_mask(p), scene.render(i)[1])


def test_sample_no_audio_custom_masks_and_force(tmp_path, capsys):
    out = tmp_path / "s.mkv"
    args = ["sample", str(out), "--frames", "3", "--size", "64x48", "--no-audio", "--masks", str(tmp_path / "gt")]
    assert main(args) == 0
    assert "masks:" in capsys.readouterr().out
    with open_video(out) as r:
        assert r.info.audio_codec is None and len(r) == 3
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--force", "-q"]) == 0
    shorter = [a if a != "3" else "2" for a in args]
    assert main([*shorter, "--force", "-q"]) == 0  # a shorter re-run leaves no stale masks
    assert sorted(p.name for p in (tmp_path / "gt").iterdir()) == ["00000.png", "00001.png"]


def test_sample_bad_size_is_usage_error(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "x.mp4"), "--size", "95x64"]) == 2
    assert main(["sample", str(tmp_path / "x.avi")]) == 2
    assert not (tmp_path / "x.mp4").exists()
