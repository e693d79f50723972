"""Every bad input gives a one-line error naming the file, through the API and the CLI (exit 1)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vidseg.cli.main import main
from vidseg.errors import DecodeError, InputError, OutputError
from vidseg.io import OverlayVideoWriter, open_video
from vidseg.io.atomic import TMP_PREFIX


def _cli_fails(capsys, args: list[str], path: Path, text: str) -> None:
    rc = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("vidseg: error: ")
    assert str(path) in err[0] and text in err[0]


def test_missing_file(tmp_path, capsys):
    p = tmp_path / "nope.mp4"
    with pytest.raises(InputError, match="no such file") as ei:
        open_video(p)
    assert ei.value.path == str(p)
    _cli_fails(capsys, ["info", str(p)], p, "no such file")


def test_text_file_renamed_mp4(tmp_path, capsys):
    p = tmp_path / "notes.mp4"
    p.write_text("these are my notes, not a video\n" * 20)
    with pytest.raises(InputError, match="cannot open as a video"):
        open_video(p)
    _cli_fails(capsys, ["info", str(p)], p, "cannot open as a video")


def test_empty_file(tmp_path, capsys):
    p = tmp_path / "empty.mp4"
    p.touch()
    _cli_fails(capsys, ["info", str(p)], p, "empty")


@pytest.mark.parametrize("name", ["zero.mp4", "zero.mkv"])
def test_zero_frame_video(tmp_path, capsys, name):
    p = tmp_path / name
    with av.open(str(p), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    with pytest.raises(InputError, match="no frames"):
        open_video(p)
    _cli_fails(capsys, ["info", str(p)], p, "no frames")


@pytest.mark.parametrize(("name", "kw"), [("t.mp4", {"faststart": True}), ("t.mkv", {})])
def test_truncated_video_keeps_decoded_frames(tmp_path, capsys, make_video, name, kw):
    v = make_video(tmp_path, name=name, n_frames=40, size=(64, 48), audio=False, **kw)
    data = v.path.read_bytes()
    cut = tmp_path / f"cut_{name}"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    got = []
    with open_video(cut) as r, pytest.raises(DecodeError) as ei:
        for f in r:
            got.append(f)
    n = ei.value.frames_done
    assert 0 < n < 40 and len(got) == n
    assert f"at frame {n}" in str(ei.value) and str(cut) in str(ei.value)
    assert [f.index for f in got] == list(range(n))
    _cli_fails(capsys, ["info", "--check", "-q", str(cut)], cut, f"at frame {n}")
    assert main(["info", str(cut)]) == 0  # without --check: a warning, not a failure
    assert "looks truncated" in capsys.readouterr().out


def test_truncated_mp4_without_index(tmp_path, make_video):
    v = make_video(tmp_path, n_frames=10, audio=False)  # moov atom at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(v.path.read_bytes()[: int(v.path.stat().st_size * 0.6)])
    with pytest.raises(InputError, match="truncated"):
        open_video(cut)


def test_mixed_size_folder(tmp_path, capsys, make_frames):
    folder, _ = make_frames(tmp_path / "f", n=3, size=(64, 48))
    odd = folder / "frame9.png"
    cv2.imwrite(str(odd), np.zeros((40, 64, 3), np.uint8))
    with pytest.raises(InputError, match="64x40 but frame0.png is 64x48") as ei:
        open_video(folder)
    assert ei.value.path == str(odd)
    _cli_fails(capsys, ["info", str(folder)], odd, "64x40")


def test_non_image_file_in_folder(tmp_path, capsys, make_frames):
    folder, _ = make_frames(tmp_path / "f", n=2)
    junk = folder / "notes.txt"
    junk.write_text("hello")
    (folder / ".hidden").write_text("ignored")
    with pytest.raises(InputError, match="not an image file"):
        open_video(folder)
    _cli_fails(capsys, ["info", str(folder)], junk, "not an image file")


def test_corrupt_image_in_folder(tmp_path, make_frames):
    folder, _ = make_frames(tmp_path / "f", n=3)
    (folder / "frame1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(InputError, match="frame1.png"):
        open_video(folder)


def test_empty_folder(tmp_path, capsys):
    d = tmp_path / "empty"
    d.mkdir()
    _cli_fails(capsys, ["info", str(d)], d, "no image frames")


def test_unwritable_output_folder(tmp_path, capsys, make_video):
    v = make_video(tmp_path, n_frames=2, audio=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with open_video(v.path) as src, pytest.raises(OutputError, match="cannot create folder"):
        OverlayVideoWriter(blocker / "out.mp4", source=src)
    _cli_fails(capsys, ["sample", "-q", "--frames", "2", str(blocker / "s.mp4")], blocker / "s.mp4", "cannot create")
    assert not list(tmp_path.rglob(TMP_PREFIX + "*"))
