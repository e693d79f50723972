"""`vidseg bench` end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from vidseg.cli.main import main
from vidseg.io.palette import write_mask
from vidseg.synthetic import demo_scene


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("benchcli")
    scene = demo_scene(width=80, height=64, n_frames=6)
    (root / "JPEGImages" / "480p" / "demo").mkdir(parents=True)
    (root / "Annotations" / "480p" / "demo").mkdir(parents=True)
    for t in range(scene.n_frames):
        img, lab = scene.render(t)
        Image.fromarray(img).save(root / "JPEGImages" / "480p" / "demo" / f"{t:05d}.jpg")
        write_mask(root / "Annotations" / "480p" / "demo" / f"{t:05d}.png", lab)
    return root


def test_bench_copy_markdown_json(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["bench", str(dataset), "--engine", "copy", "--markdown", "-q",
               "--json", str(tmp_path / "b.json"), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("| Sequence | Frames | J | F | J&F | Flicker | FPS |")
    assert lines[2].startswith("| demo | 6 |") and lines[-1].startswith("| **mean** |")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["engine"] == "copy" and doc["sequences"]["demo"]["frames"] == 6
    assert doc["mean"]["fps"] > 0 and 0 < doc["mean"]["J"] < 1
    assert len(list((tmp_path / "out" / "demo").glob("*.png"))) == 6


def test_bench_errors(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", str(dataset), "--engine", "fastt", "-q"]) == 2  # a usage error listing the engines
    err = capsys.readouterr().err
    assert "'fastt' is not one of" in err and "'copy'" in err and "'classical'" in err
    assert main(["bench", str(tmp_path), "-q"]) == 1
    assert "not a DAVIS dataset" in capsys.readouterr().err
    assert main(["bench", "--help"]) == 0


def test_bench_with_trained_weights(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from vidseg.vos.learned.weights import shipped_weights_dir

    weights = tmp_path / "engine"
    shutil.copytree(shipped_weights_dir(), weights)
    json_out = {name: tmp_path / f"{name}.json" for name in ("shipped", "mine")}
    args = ["bench", str(dataset), "--engine", "fast", "-q", "--no-isolate"]
    assert main([*args, "--json", str(json_out["shipped"])]) == 0
    assert main([*args, "--json", str(json_out["mine"]), "--weights", str(weights)]) == 0
    scores = [json.loads(p.read_text())["mean"] for p in json_out.values()]
    assert scores[0]["J"] == scores[1]["J"] and scores[0]["F"] == scores[1]["F"]
    (weights / "card.json").unlink()
    capsys.readouterr()
    assert main([*args, "--weights", str(weights)]) == 1
    err = capsys.readouterr().err.strip()
    assert "card.json" in err and len(err.splitlines()) == 1
    assert main(["bench", str(dataset), "--engine", "copy", "-q", "--weights", str(weights)]) == 1
    assert "copy baseline has no trained weights" in capsys.readouterr().err
