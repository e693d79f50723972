"""Bad input and bad options through the command line, as a table: every case exits 1 (2 for a
usage error) with one line on stderr naming the file or option, no traceback, the inputs untouched,
no output that looks finished and no temporary left behind.

Each row: (case, command line with names relative to a fresh copy of the inputs, expected exit,
words the error line holds, outputs that must not exist afterwards).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.damaged import cut_short, junk_in_middle, png_claiming
from vidseg.cli.main import main
from vidseg.io.palette import write_mask
from vidseg.synthetic import demo_scene, encode_clip, write_masks, write_video

T = "-e classical-fast -q"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs every case starts from (copied afresh for each)."""
    d = tmp_path_factory.mktemp("inputs")
    scene = demo_scene(width=96, height=64, n_frames=16)
    write_video(scene, d / "clip.mp4", fps=Fraction(25), audio=True)
    write_masks(scene, d / "gt")
    (d / "frames").mkdir()
    for t in range(4):
        cv2.imwrite(str(d / "frames" / f"f{t}.png"), cv2.cvtColor(scene.render(t)[0], cv2.COLOR_RGB2BGR))
    (d / "bomb.png").write_bytes(png_claiming(40000, 30000))
    shutil.copytree(d / "frames", d / "bombframes")
    (d / "bombframes" / "f9.png").write_bytes(png_claiming(40000, 30000, mode=2))
    shutil.copytree(d / "gt", d / "bombgt")
    (d / "bombgt" / "00002.png").write_bytes(png_claiming(40000, 30000))
    (d / "m.onnx").write_bytes(b"not really a model")
    (d / "m.json").write_bytes('{"name": "café", "task": "semantic"}'.encode("latin-1"))  # not UTF-8
    (d / "somedir").mkdir()
    (d / "somedir" / "keep.txt").write_text("mine")
    long = demo_scene(width=96, height=64, n_frames=40)
    encode_clip((long.render(t)[0] for t in range(40)), d / "long.mkv", audio=False)
    cut_short(d / "long.mkv", d / "half.mkv", 0.5)
    encode_clip((long.render(t)[0] for t in range(40)), d / "long.mp4", audio=False,
                container_options={"movflags": "+faststart"})
    junk_in_middle(d / "long.mp4", d / "junk.mp4", at=0.55, size=1500)
    return d


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


CASES = [
    # an output that is the input: refused, --force or not
    ("overlay-is-the-input-video", f"track clip.mp4 -m gt/00000.png --overlay clip.mp4 --force {T}", 2,
     ["--overlay", "is the input", "clip.mp4"], []),
    ("masks-folder-is-the-input-frames", f"track frames -m gt/00000.png -o frames --force {T}", 2,
     ["-o", "is the input"], []),
    ("masks-folder-holds-the-given-mask", f"track clip.mp4 -m gt/00000.png -o gt --force {T}", 2,
     ["-o", "holds the input", "00000.png"], []),
    ("overlay-hard-link-to-the-input", f"track clip.mp4 -m gt/00000.png --overlay hard.mp4 --force {T}", 2,
     ["--overlay", "is the input"], []),
    ("overlay-symlink-to-the-input", f"track clip.mp4 -m gt/00000.png --overlay soft.mp4 --force {T}", 2,
     ["--overlay", "is the input"], []),
    ("segment-overlay-is-the-input", "segment clip.mp4 --model person --overlay clip.mp4 --force -q", 2,
     ["--overlay", "is the input"], []),
    ("segment-negative-runs-per-frame", "segment clip.mp4 --model person --runs-per-frame -1 -o out -q", 2,
     ["--runs-per-frame", "-1"], ["out"]),
    ("eval-json-over-a-ground-truth-mask", "eval --gt gt --pred gt --json gt/00003.png --force -q", 2,
     ["--json", "input folder"], []),
    ("overlay-among-the-input-frames", f"track frames -m gt/00000.png --overlay frames/ov.mp4 {T}", 2,
     ["--overlay", "input folder"], ["frames/ov.mp4"]),
    ("two-outputs-one-name", f"track clip.mp4 -m gt/00000.png --overlay o.mp4 --mask-video o.mp4 {T}", 2,
     ["--overlay", "--mask-video", "o.mp4"], ["o.mp4"]),
    ("rle-inside-the-masks-folder", f"track clip.mp4 -m gt/00000.png -o out --rle out/m.json {T}", 2,
     ["--rle", "inside the -o folder"], ["out"]),
    # every output checked before the first frame
    ("rle-is-an-existing-folder", f"track clip.mp4 -m gt/00000.png -o out --rle somedir --force {T}", 1,
     ["somedir", "is a folder", "--rle"], ["out"]),
    ("overlay-names-a-folder", f"track clip.mp4 -m gt/00000.png --overlay some/dir/ {T}", 2,
     ["--overlay", "some/dir/", "file name"], ["some"]),
    ("no-output-at-all", f"track clip.mp4 -m gt/00000.png {T}", 2, ["at least one output"], []),
    ("per-object-without-masks", f"track clip.mp4 -m gt/00000.png --overlay o.mp4 --per-object {T}", 2,
     ["--per-object", "-o"], ["o.mp4"]),
    # decompression bombs: a frame, a mask; refused with the size and how to raise the limit
    ("bomb-as-a-frame", "info bombframes", 1, ["f9.png", "40000x30000", "--max-pixels"], []),
    ("bomb-as-a-mask", f"track clip.mp4 -m bomb.png -o out {T}", 1, ["bomb.png", "40000x30000", "--max-pixels"],
     ["out"]),
    ("bomb-as-ground-truth", "eval --gt bombgt --pred gt -q", 1, ["00002.png", "40000x30000"], []),
    # a model card that is not UTF-8
    ("model-card-not-utf8", "segment clip.mp4 --model m.onnx -o out -q", 1, ["m.json", "UTF-8"], ["out"]),
    # prompts outside the frame name the option and the value
    ("box-with-negative-numbers", f"track clip.mp4 --box -5,10,50,50 -o out {T}", 2, ["--box", "-5,10,50,50"],
     ["out"]),
    ("box-outside-the-frame", f"track clip.mp4 --box 200,10,300,50 -o out {T}", 2, ["--box", "96x64"], ["out"]),
    ("box-over-the-whole-frame", f"track clip.mp4 --box 0,0,96,64 -o out {T}", 2, ["--box", "whole"], ["out"]),
    ("click-outside-the-frame", f"track clip.mp4 --click 100,10 -o out {T}", 2, ["--click", "100,10"], ["out"]),
    # options: one frame-rate syntax, engines listed
    ("bench-engine-misspelt", "bench . --engine fastt -q", 2, ["fastt", "classical", "copy"], []),
    ("info-fps-zero", "info frames --fps 0", 2, ["--fps", "positive"], []),
    ("track-fps-not-a-rate", f"track frames -m gt/00000.png -o out --fps fast {T}", 2, ["--fps", "fast"], ["out"]),
    ("train-engine-zoom-not-a-number", "train-engine frames -o run --zoom 1.5,big -q", 2, ["--zoom", "1.5,big"],
     ["run"]),
    ("train-engine-zoom-too-far", "train-engine frames -o run --zoom 9 -q", 2, ["--zoom", "0.25..4"], ["run"]),
    # damaged videos are found, named and, with --strict, stop the run
    ("mkv-cut-in-half-check", "info --check -q half.mkv", 1, ["half.mkv", "frame"], []),
    ("mkv-cut-in-half-track", f"track half.mkv -m gt/00000.png -o out {T}", 1, ["half.mkv", "out.partial"],
     ["out"]),
    ("random-bytes-in-an-mp4-check", "info --check -q junk.mp4", 1, ["junk.mp4", "damaged frame"], []),
    ("random-bytes-in-an-mp4-strict", f"track junk.mp4 -m gt/00000.png -o out --strict {T}", 1,
     ["junk.mp4", "damaged", "--strict"], ["out"]),
]


@pytest.mark.parametrize(("case", "command", "code", "words", "absent"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(case: str, command: str, code: int, words: list[str], absent: list[str], inputs: Path,
                   tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "w"
    shutil.copytree(inputs, work)
    os.link(work / "clip.mp4", work / "hard.mp4")
    (work / "soft.mp4").symlink_to(work / "clip.mp4")
    monkeypatch.chdir(work)
    before = _snapshot(work)
    rc = main(command.split())
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == code, err
    assert len(lines) == 1 and lines[0].startswith("vidseg: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    after = _snapshot(work)
    assert {k: v for k, v in after.items() if k in before} == before  # the inputs are untouched
    for name in absent:
        assert not (work / name).exists(), name  # nothing under a final name
    assert not [p for p in work.rglob("*") if p.name.startswith(".vidseg-tmp-")]


def test_the_frames_before_a_break_are_kept_under_partial_names(inputs: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["track", str(inputs / "half.mkv"), "-m", str(inputs / "gt" / "00000.png"), "-o", str(tmp_path / "out"),
               "--overlay", str(tmp_path / "ov.mp4"), "-e", "classical-fast", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    kept = sorted((tmp_path / "out.partial").glob("*.png"))
    assert 5 < len(kept) < 40 and (tmp_path / "ov.partial.mp4").is_file()
    assert f"the {len(kept)} frame(s) tracked before it are in" in err


def test_damage_is_a_warning_with_frame_numbers_without_strict(inputs: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["track", str(inputs / "junk.mp4"), "-m", str(inputs / "gt" / "00000.png"), "-o", str(tmp_path / "out"),
               "-e", "classical-fast", "-q"])
    err = capsys.readouterr().err
    assert rc == 0
    warning = [line for line in err.splitlines() if "damaged frame" in line]
    assert len(warning) == 1 and warning[0].startswith("vidseg: warning: ") and "junk.mp4" in warning[0]
    assert len(list((tmp_path / "out").glob("*.png"))) == 40  # every frame, numbered as in the file


def test_overlay_alone_is_enough_for_track(inputs: Path, tmp_path: Path) -> None:
    assert main(["track", str(inputs / "clip.mp4"), "-m", str(inputs / "gt" / "00000.png"),
                 "--overlay", str(tmp_path / "ov.mp4"), "-e", "classical-fast", "-q"]) == 0
    assert (tmp_path / "ov.mp4").is_file()


def test_a_bomb_is_read_once_the_limit_is_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mask = np.zeros((120, 160), np.uint8)
    mask[10:50, 20:60] = 1
    write_mask(tmp_path / "m.png", mask)
    assert main(["--max-pixels", "10000", "info", str(tmp_path)]) == 1
    assert "above the limit of" in capsys.readouterr().err
    assert main(["--max-pixels", "20000", "info", str(tmp_path)]) == 0


def test_frame_rate_syntax_is_the_same_everywhere(tmp_path: Path, inputs: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for rate in ("30000/1001", "29.97", "25"):
        assert main(["info", str(inputs / "frames"), "--fps", rate]) == 0
        assert main(["track", str(inputs / "frames"), "-m", str(inputs / "gt" / "00000.png"), "--fps", rate,
                     "-o", str(tmp_path / rate.replace("/", "_")), "-e", "classical-fast", "-q"]) == 0
    out = capsys.readouterr().out
    assert "30000/1001 (29.970)" in out and "2997/100 (29.970)" in out
