"""`vidseg annotate` on the command line: bad input is one clear line (the server never starts),
and `vidseg annotate export` writes every format from a project folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidseg.annotate.project import STATE
from vidseg.annotate.session import AnnotateSession
from vidseg.cli.main import main
from vidseg.synthetic import demo_scene, write_video

from .conftest import Clip, N


def _annotated(clip: Clip, project: Path) -> None:
    s = AnnotateSession(clip.path, project, engine="classical")
    try:
        s.project.add_object("ellipse")
        s.click(0, 1, *clip.interior(0, 1))
        s.propagator.start()
        assert s.propagator.wait(120)
    finally:
        s.close()


@pytest.mark.parametrize("case, args, code, words", [
    ("missing video", ["annotate", "{d}/nothing.mp4", "--no-browser"], 1, ["nothing.mp4", "no such file"]),
    ("not a video", ["annotate", "{d}/notes.txt", "--no-browser"], 1, ["notes.txt"]),
    ("project of another video", ["annotate", "{d}/other.mp4", "--project", "{d}/proj", "--no-browser"], 1,
     ["made for another video", "clip.mp4"]),
    ("truncated state", ["annotate", "{d}/clip.mp4", "--project", "{d}/broken", "--no-browser"], 1,
     ["project.json", "damaged or truncated", "nothing was changed"]),
    ("project is a file", ["annotate", "{d}/clip.mp4", "--project", "{d}/notes.txt", "--no-browser"], 2,
     ["--project", "notes.txt"]),
    ("project folder cannot be made", ["annotate", "{d}/clip.mp4", "--project", "{d}/notes.txt/sub", "--no-browser"],
     1, ["notes.txt/sub", "cannot create the project folder"]),
    ("bad port", ["annotate", "{d}/clip.mp4", "--port", "70000"], 2, ["--port"]),
    ("weights without a card", ["annotate", "{d}/clip.mp4", "--project", "{d}/new", "--weights", "{d}/empty",
                                "--no-browser"], 1, ["card.json"]),
    ("weights not there", ["annotate", "{d}/clip.mp4", "--weights", "{d}/absent", "--no-browser"], 2, ["--weights"]),
    ("export: unknown format", ["annotate", "export", "{d}/proj", "--format", "gif"], 2, ["--format"]),
    ("export: not a project", ["annotate", "export", "{d}", "--format", "davis"], 1, ["no project here"]),
    ("export: bad size", ["annotate", "export", "{d}/proj", "-f", "training", "--size", "3x3"], 2, ["--size"]),
])
def test_bad_input(clip: Clip, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, args: list[str],
                   code: int, words: list[str]) -> None:
    d = clip.path.parent
    (d / "notes.txt").write_text("not a video")
    (d / "empty").mkdir(exist_ok=True)
    write_video(demo_scene(96, 64, 6, seed=5), d / "other.mp4", audio=False)
    _annotated(clip, d / "proj")
    _annotated(clip, d / "broken")
    state = d / "broken" / STATE
    state.write_bytes(state.read_bytes()[:-40])
    masks_before = sorted(p.name for p in (d / "broken" / "masks").iterdir())
    capsys.readouterr()
    assert main([a.format(d=d) for a in args]) == code, case
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], (case, err[0])
    assert sorted(p.name for p in (d / "broken" / "masks").iterdir()) == masks_before
    assert not (d / "new").exists()


def test_export_command(clip: Clip, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = tmp_path / "proj"
    _annotated(clip, proj)
    assert main(["annotate", "export", str(proj), "-f", "davis", "-f", "coco", "-f", "training", "--size", "64x48",
                 "--gray", "--block", "4", "-q"]) == 0
    assert len(list((proj / "export/davis/Annotations/480p/clip").glob("*.png"))) == N
    assert json.loads((proj / "export/coco.json").read_text())["categories"] == [{"id": 1, "name": "ellipse"}]
    manifest = json.loads((proj / "export/train-64x48-gray/manifest.json").read_text())
    assert manifest["split"]["block"] == 4 and manifest["split"]["val"] % 4 == 0
    assert main(["annotate", "export", str(proj), "-f", "davis", "-f", "coco", "-o", str(tmp_path / "x")]) == 2


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["annotate", "open", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--project", "--host", "--port", "--no-browser", "--engine", "--weights"):
        assert opt in out
    assert main(["annotate", "--help"]) == 0
    assert "export" in capsys.readouterr().out


def test_split_blocks_never_mixes_neighbouring_frames() -> None:
    from vidseg.annotate.export import split_blocks

    train, val = split_blocks(100, 0.2, 10)
    assert len(val) == 20 and sorted(train + val) == list(range(100))
    starts = [t for t in val if t - 1 not in val]
    assert all(s % 10 == 0 for s in starts) and np.all(np.diff(sorted(val))[np.diff(sorted(val)) > 1] > 10)


def test_setup_installs_the_page_and_ci_installs_chromium() -> None:
    import re
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    extras = project["project"]["optional-dependencies"]
    names = {e: {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in reqs} for e, reqs in extras.items()}
    assert {"fastapi", "uvicorn"} <= names["annotate"]
    assert {"fastapi", "uvicorn", "httpx", "playwright"} <= names["dev"]
    assert "annotate/static/*" in project["tool"]["setuptools"]["package-data"]["vidseg"]
    install = re.search(r"^install:.*\n((?:\t.*\n)+)", (root / "Makefile").read_text(encoding="utf-8"), re.M)
    assert install is not None and '".[annotate]"' in install.group(1)
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("apt-get install -y") < ci.index("make test") and "chromium" in ci


def test_trained_weights_propagate(clip: Clip, tmp_path: Path) -> None:
    import shutil

    from vidseg.vos.learned import LearnedTracker
    from vidseg.vos.learned.weights import shipped_weights_dir

    weights = tmp_path / "run" / "engine"
    shutil.copytree(shipped_weights_dir(), weights)
    s = AnnotateSession(clip.path, tmp_path / "proj", engine="fast", weights=str(weights))
    try:
        tracker = s.propagator._factory()
        assert isinstance(tracker, LearnedTracker) and tracker.config.weights == str(weights)
        assert tracker.config.name == "fast"
    finally:
        s.close()
