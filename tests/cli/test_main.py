"""The last resort: an exception vidseg did not expect is one line with a hint to report it;
--debug (anywhere on the command line) shows the traceback."""

from __future__ import annotations

import errno

import pytest

from vidseg.cli import info_cmd
from vidseg.cli.main import main


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("something\nvidseg did not expect")


def test_an_unexpected_exception_is_one_line_with_a_hint(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(info_cmd, "open_video", _boom)
    assert main(["info", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("vidseg: error: unexpected RuntimeError: something vidseg did not expect")
    assert "bug" in lines[0] and "--debug" in lines[0]


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path, where: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(info_cmd, "open_video", _boom)
    args = ["--debug", "info", str(tmp_path)] if where == "before" else ["info", str(tmp_path), "--debug"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "_boom" in err
    assert err.strip().splitlines()[-1].startswith("vidseg: error: unexpected RuntimeError")


def test_a_full_disk_is_a_plain_error(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.mp4"))

    monkeypatch.setattr(info_cmd, "open_video", full)
    assert main(["info", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"vidseg: error: {tmp_path / 'out.mp4'}: No space left on device"]


def test_usage_errors_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["track"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "VIDEO_OR_FRAMES" in lines[0] and "vidseg track --help" in lines[0]
