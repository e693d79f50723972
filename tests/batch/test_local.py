"""``vidseg batch`` on the local process pool: outputs equal to the single-video commands, a
corrupt clip failing alone, re-runs skipping what is done, changed options, bad usage."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.batch.conftest import Clip, write_clip
from vidseg.batch.state import BatchState
from vidseg.batch.worker import MARKER, digest
from vidseg.cli.main import main
from vidseg.io.palette import read_mask

ENGINE = ["-e", "classical-fast"]


def _events(out: Path) -> list[tuple[str, str, str | None]]:
    with BatchState(out) as state:
        return state.events()


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_batch_track_with_a_corrupt_clip(tmp_path: Path, make_clips: Callable[..., list[Clip]],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    clips = make_clips(tmp_path / "in", 3, corrupt=True)
    out, summary = tmp_path / "out", tmp_path / "summary.json"
    args = ["batch", "track", str(tmp_path / "in"), "-o", str(out), *ENGINE, "--workers", "2", "-q"]
    assert main([*args, "--json", str(summary)]) == 1
    err = capsys.readouterr().err
    assert "1 of 4 video(s) failed, first broken" in err and "broken.mp4" in err
    data = json.loads(summary.read_text())
    status = {v["name"]: v for v in data["videos"]}
    assert {n: v["status"] for n, v in status.items()} == {"broken": "failed", "clip0": "done", "clip1": "done",
                                                           "clip2": "done"}
    assert "broken.mp4" in status["broken"]["error"] and status["broken"]["attempts"] == 1  # bad input: no retry
    assert not (out / "broken").exists() and not list(out.glob(".vidseg-tmp-*"))  # nothing looks finished
    for clip in clips:  # the same files, byte for byte, as `vidseg track` writes for one video
        ref = tmp_path / "ref" / clip.name
        assert main(["track", str(clip.path), "-m", str(clip.prompt), "-o", str(ref / "masks"),
                     "--report", str(ref / "report.json"), *ENGINE, "-q"]) == 0
        folder = out / clip.name
        _same_tree(folder / "masks", ref / "masks")
        assert (folder / "report.json").read_bytes() == (ref / "report.json").read_bytes()
        marker = json.loads((folder / MARKER).read_text())
        assert marker["checksum"] == status[clip.name]["checksum"] == digest(folder)[0]
        assert marker["frames"] == status[clip.name]["frames"] == clip.labels.shape[0]
        masks = np.stack([read_mask(p) for p in sorted((folder / "masks").glob("*.png"))])
        assert (masks[0] == clip.labels[0]).all()  # the prompt frame is the given mask
        assert (masks == clip.labels).mean() > 0.9  # and it tracks: exact ground truth to compare with
    # a re-run skips what is done and tries the failed video again
    assert main(args) == 1
    starts = [n for n, e, _ in _events(out) if e == "start"]
    assert sorted(starts) == ["broken", "broken", "clip0", "clip1", "clip2"]
    # once the clip is repaired, the next run does only it
    (tmp_path / "in" / "broken.mp4").unlink()
    write_clip(tmp_path / "in", "broken", seed=7)
    assert main(args) == 0
    events = _events(out)
    assert sorted(n for n, e, _ in events if e == "done") == ["broken", "clip0", "clip1", "clip2"]
    assert (out / "broken" / "masks").is_dir()


def test_outputs_options_and_manifest(tmp_path: Path) -> None:
    write_clip(tmp_path, "a")
    write_clip(tmp_path, "b", seed=3)
    manifest = tmp_path / "m.csv"
    manifest.write_text("input,prompt,name,overlay,engine\na.mp4,a.png,first,true,\nb.mp4,,second,,fast\n")
    out = tmp_path / "out"
    assert main(["batch", "track", str(manifest), "-o", str(out), *ENGINE, "--rle", "--workers", "1", "-q"]) == 1
    assert sorted(p.name for p in (out / "first").iterdir()) == [MARKER, "masks", "masks.json", "overlay.mp4",
                                                                  "report.json"]
    with BatchState(out) as state:
        row = state.row("second")
        assert row is not None and row.status == "failed" and "no prompt" in (row.error or "")
        assert row.attempts == 0  # found before any worker was asked


def test_changed_options_are_refused_then_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_clip(tmp_path / "in", "a")
    out = tmp_path / "out"
    base = ["batch", "track", str(tmp_path / "in"), "-o", str(out), "--workers", "1", "-q"]
    assert main([*base, *ENGINE]) == 0
    assert main([*base, "-e", "classical"]) == 1
    assert "engine: 'classical-fast' then, 'classical' now" in capsys.readouterr().err
    assert main([*base, "--resume"]) == 0  # continues as it was: nothing to do
    assert main([*base, "-e", "classical", "--force"]) == 0
    assert [e for _, e, _ in _events(out) if e in ("start", "done")] == ["start", "done", "start", "done"]
    # outputs deleted by hand are noticed and redone
    import shutil

    shutil.rmtree(out / "a" / "masks")
    assert main([*base, "-e", "classical"]) == 0
    assert (out / "a" / "masks").is_dir()


def test_segment_batch(tmp_path: Path) -> None:
    from vidseg.models.toy import conv1x1_onnx

    clips = [write_clip(tmp_path / "in", f"s{k}", seed=k) for k in range(2)]
    model = conv1x1_onnx(tmp_path / "rgb.onnx", 10 * np.eye(3, dtype=np.float32), np.zeros(3, np.float32), (32, 24))
    (tmp_path / "rgb.json").write_text(json.dumps({"name": "rgb", "task": "semantic", "input_size": [32, 24],
                                                   "labels": ["red", "green", "blue"]}))
    out = tmp_path / "out"
    assert main(["batch", "segment", str(tmp_path / "in"), "-o", str(out), "--model", str(model), "--overlay",
                 "--workers", "2", "-q"]) == 0
    for clip in clips:
        ref = tmp_path / "ref" / clip.name
        assert main(["segment", str(clip.path), "--model", str(model), "-o", str(ref), "-q"]) == 0
        _same_tree(out / clip.name / "masks", ref)
        assert (out / clip.name / "overlay.mp4").stat().st_size > 0


def test_track_with_trained_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from vidseg.vos.learned.weights import shipped_weights_dir

    clip = write_clip(tmp_path / "in", "a")
    weights = tmp_path / "run" / "engine"  # as `vidseg train-engine -o run` exports an engine
    shutil.copytree(shipped_weights_dir(), weights)
    out = tmp_path / "out"
    base = ["batch", "track", str(tmp_path / "in"), "-e", "fast", "--workers", "1", "-q"]
    assert main([*base, "-o", str(out), "--weights", str(weights)]) == 0
    ref = tmp_path / "ref"  # the same masks as `vidseg track` with those weights
    assert main(["track", str(clip.path), "-m", str(clip.prompt), "-o", str(ref), "-e", "fast", "--weights",
                 str(weights), "-q"]) == 0
    _same_tree(out / "a" / "masks", ref)
    with BatchState(out) as state:  # recorded as an absolute folder, for --resume and other machines
        assert state.meta("settings")["options"]["weights"] == str(weights.absolute())
    capsys.readouterr()
    (weights / "decoder.onnx").write_bytes(b"not a graph")  # the card's SHA-256 no longer matches
    assert main([*base, "-o", str(tmp_path / "damaged"), "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decoder.onnx" in err[0], err
    assert not (tmp_path / "damaged").exists()  # refused before any video started
    assert main([*base, "-o", str(tmp_path / "c"), "-e", "classical", "--weights", str(weights)]) == 1
    assert "classical engine has no trained weights" in capsys.readouterr().err
    manifest = tmp_path / "m.csv"  # per video: a manifest's bad weights fail that video alone
    manifest.write_text(f"input,prompt,name,weights\n{clip.path},{clip.prompt},good,\n"
                        f"{clip.path},{clip.prompt},bad,run/engine\n")
    assert main(["batch", "track", str(manifest), "-o", str(tmp_path / "m"), *ENGINE, "--workers", "1", "-q"]) == 1
    with BatchState(tmp_path / "m") as state:
        good, bad = state.row("good"), state.row("bad")
        assert good is not None and good.status == "done"
        assert bad is not None and bad.status == "failed" and "option weights" in (bad.error or "")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["segment", "{in}", "-o", "{out}", "-e", "fast"], 2, "--engine applies to `vidseg batch track`"),
    (["segment", "{in}", "-o", "{out}", "--weights", "{in}"], 2, "--weights applies to `vidseg batch track`"),
    (["track", "{in}", "-o", "{out}", "--model", "person"], 2, "--model applies to `vidseg batch segment`"),
    (["track", "-o", "{out}"], 2, "give INPUTS"),
    (["track", "-o", "{out}", "--resume"], 2, "holds no batch to continue"),
    (["track", "{in}", "-o", "{in}/out"], 2, "lies inside the input folder"),
    (["track", "{in}/missing", "-o", "{out}"], 1, "not found"),
    (["track", "{in}", "-o", "{out}", "--workers", "0"], 2, "--workers"),
    (["walk", "{in}", "-o", "{out}"], 2, "'walk' is not one of"),
])
def test_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int,
                   message: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.mp4").write_bytes(b"x")
    argv = [a.format(**{"in": tmp_path / "in", "out": tmp_path / "out"}) for a in args]
    assert main(["batch", *argv, "-q"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
