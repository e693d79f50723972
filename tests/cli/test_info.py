"""`vidseg info`: the fields it prints for a video and a folder; --check; usage errors."""

from __future__ import annotations

from vidseg.cli.main import main


def test_info_video_fields(tmp_path, capsys, make_video):
    v = make_video(tmp_path, n_frames=6, size=(96, 64), audio=True)
    assert main(["info", str(v.path)]) == 0
    out = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    out = {k.strip(): val.strip() for k, val in out.items()}
    assert out["frames"] == "6"
    assert out["fps"] == "30000/1001 (29.970)"
    assert out["size"] == "96x64"
    assert out["codec"] == "h264" and out["pixel format"] == "yuv420p"
    assert out["duration"] == "0.200 s"
    assert out["frame rate"] == "constant" and out["rotation"] == "none"
    assert out["audio"] == "aac, 48000 Hz, 1 channel"


def test_info_vfr_and_no_audio(tmp_path, capsys, make_video):
    v = make_video(tmp_path, n_frames=6, vfr=True, audio=False, rotation=-90)
    assert main(["info", "--check", "-q", str(v.path)]) == 0
    text = capsys.readouterr().out
    assert "variable (VFR)" in text and "audio:        none" in text
    assert "rotation:     270 deg" in text and "all 6 frames decode" in text


def test_info_json(tmp_path, capsys, make_video):
    import json

    v = make_video(tmp_path, n_frames=4, audio=True)
    assert main(["info", "--json", str(v.path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frame_count"] == 4 and data["fps"] == "30000/1001" and data["audio_codec"] == "aac"
    assert data["pixel_format"] == "yuv420p" and data["variable_frame_rate"] is False


def test_info_folder(tmp_path, capsys, make_frames):
    folder, _ = make_frames(tmp_path / "f", n=3, size=(64, 48))
    assert main(["info", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "frames: 3" in text and "size:   64x48" in text and "codec" not in text


def test_info_usage_error(capsys):
    assert main(["info"]) == 2
    assert main(["info", "--help"]) == 0
    assert "--check" in capsys.readouterr().out
