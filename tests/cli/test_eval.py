"""`vidseg eval` end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidseg.cli.main import main
from vidseg.io.palette import write_mask
from vidseg.synthetic import demo_scene, write_masks

DAVIS_DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "davis2016-dev"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A flat GT folder (2 objects), results shifted by 2 px, and the frames, as `make demo`."""
    d = tmp_path_factory.mktemp("evalcli")
    scene = demo_scene(width=96, height=64, n_frames=8)
    write_masks(scene, d / "sample-gt")
    (d / "masks").mkdir()
    (d / "frames").mkdir()
    for t in range(scene.n_frames):
        img, lab = scene.render(t)
        write_mask(d / "masks" / f"{t:05d}.png", np.roll(lab, 2, 1))
        Image.fromarray(img).save(d / "frames" / f"{t:05d}.png")
    return d


def test_flat_folder_like_make_demo(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["eval", "--gt", str(clip / "sample-gt"), "--pred", str(clip / "masks"), "-q",
               "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"),
               "--plot", str(tmp_path / "r.png")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "J&F-Mean" in out and "sample-gt/1" in out and "sample-gt/2" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert set(doc["objects"]) == {"sample-gt/1", "sample-gt/2"}
    assert 0.0 < doc["mean"]["J"] < 1.0
    assert f"{doc['mean']['J&F']:.3f}" in out
    assert (tmp_path / "r.csv").read_text().count("\n") == 3
    assert (tmp_path / "r.png").stat().st_size > 0
    # outputs exist: refused without --force, accepted with it
    rc = main(["eval", "--gt", str(clip / "sample-gt"), "--pred", str(clip / "masks"), "-q",
               "--json", str(tmp_path / "r.json")])
    assert rc == 1 and "already exists" in capsys.readouterr().err
    assert main(["eval", "--gt", str(clip / "sample-gt"), "--pred", str(clip / "masks"), "-q",
                 "--json", str(tmp_path / "r.json"), "--force"]) == 0


def test_consistency_without_gt(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["eval", "--pred", str(clip / "masks"), "--video", str(clip / "frames"), "-q",
               "--json", str(tmp_path / "c.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "Consistency" in out and "masks/1" in out
    doc = json.loads((tmp_path / "c.json").read_text())
    assert 0.0 < doc["temporal"]["masks/1"]["consistency"] <= 1.0


def test_errors(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--pred", str(clip / "masks")]) == 2  # neither --gt nor --video
    capsys.readouterr()
    pred = tmp_path / "pred"
    pred.mkdir()
    for f in sorted((clip / "masks").glob("*.png"))[:3]:
        (pred / f.name).write_bytes(f.read_bytes())
    rc = main(["eval", "--gt", str(clip / "sample-gt"), "--pred", str(pred), "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("vidseg: error: ") and "00003.png: result frame missing" in err
    assert main(["eval", "--gt", str(clip / "sample-gt"), "--pred", str(pred), "--task", "x"]) == 2


def test_help() -> None:
    assert main(["eval", "--help"]) == 0


@pytest.mark.skipif(not DAVIS_DEV.is_dir(), reason="../shared/data/davis2016-dev is absent")
def test_davis_root(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["eval", "--gt", str(DAVIS_DEV), "--pred", str(DAVIS_DEV / "Annotations" / "480p"),
               "--sequences", "car-shadow", "-q"])
    out = capsys.readouterr().out
    assert rc == 0 and "car-shadow/1" in out and "1.000" in out


def test_scoring_two_different_sequences_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `--gt dog --pred parkour`: both 00000.png..., different lengths; scored, but not in silence
    write_masks(demo_scene(width=96, height=64, n_frames=6, seed=1), tmp_path / "dog")
    write_masks(demo_scene(width=96, height=64, n_frames=10, seed=2), tmp_path / "parkour")
    assert main(["eval", "--gt", str(tmp_path / "dog"), "--pred", str(tmp_path / "parkour"), "-q"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("vidseg: warning: ")]
    assert len(warnings) == 1
    assert "10 result frame(s) for 6 annotated" in warnings[0] and "00006" in warnings[0]
    assert "J&F-Mean" in captured.out


def test_matching_frames_give_no_warning(clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--gt", str(clip / "sample-gt"), "--pred", str(clip / "masks"), "-q"]) == 0
    assert capsys.readouterr().err == ""
