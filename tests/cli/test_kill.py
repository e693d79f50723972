"""A kill -9 at any moment, then a rerun: complete, correct outputs and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import vidseg
from vidseg.io.palette import read_mask, write_mask
from vidseg.synthetic import demo_scene, write_video

SRC = str(Path(vidseg.__file__).resolve().parents[1])


def _command(clip: Path, mask: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "vidseg", "track", str(clip), "-m", str(mask), "--frame", "30",
            "-o", str(out / "masks"), "--overlay", str(out / "ov.mp4"), "--rle", str(out / "m.json"),
            "--report", str(out / "r.json"), "-e", "classical-fast", "-q"]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("VIDSEG_DEBUG", None)
    return env


def _leftovers(*folders: Path) -> list[Path]:
    return [p for d in folders for p in d.rglob("*")
            if p.name.startswith((".vidseg-tmp-", "vidseg-labels-")) or ".partial" in p.name]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("killclip")
    scene = demo_scene(width=160, height=120, n_frames=60)
    write_video(scene, d / "clip.mp4", fps=Fraction(25), audio=True)
    write_mask(d / "m30.png", scene.render(30)[1])
    return d / "clip.mp4", d / "m30.png"


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["tracking back", "writing"])
def test_kill_9_then_rerun(clip: tuple[Path, Path], tmp_path: Path, moment: str) -> None:
    video, mask = clip
    tmp, out, clean = tmp_path / "tmp", tmp_path / "out", tmp_path / "clean"
    for d in (tmp, out, clean):
        d.mkdir()
    proc = subprocess.Popen(_command(video, mask, out), env=_env(tmp), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            spill = any(p.name.startswith("vidseg-labels-") for p in tmp.iterdir())
            writing = any(p.suffix == ".png" for d in out.glob(".vidseg-tmp-*-masks.*") for p in d.iterdir())
            if (moment == "tracking back" and spill) or (moment == "writing" and writing):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert _leftovers(out, tmp), "the killed run left its temporaries (the rerun must remove them)"
    assert not (out / "masks").exists() and not (out / "ov.mp4").exists()  # nothing looks finished

    rerun = subprocess.run(_command(video, mask, out), env=_env(tmp), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert _leftovers(out, tmp) == []
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "masks", "ov.mp4", "r.json"]
    subprocess.run(_command(video, mask, clean), env=_env(tmp), check=True, capture_output=True)
    got = sorted((out / "masks").glob("*.png"))
    assert len(got) == 60
    for p in got:
        assert np.array_equal(read_mask(p), read_mask(clean / "masks" / p.name))
