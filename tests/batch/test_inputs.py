"""Finding a batch's videos: folders, DAVIS and YouTube-VOS layouts, manifests; bad manifests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidseg.batch.inputs import discover
from vidseg.batch.jobs import get_job
from vidseg.errors import InputError, UsageError
from vidseg.io.palette import write_mask

TRACK_OPTIONS = list(get_job("track").options)


def _frames(folder: Path, n: int = 3) -> None:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        cv2.imwrite(str(folder / f"{k:05d}.jpg"), np.full((8, 8, 3), 40 * k, np.uint8))


def _mask(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_mask(path, np.eye(8, dtype=np.uint8))


def test_folder_of_videos_and_frame_folders(tmp_path: Path) -> None:
    (tmp_path / "b.mp4").write_bytes(b"x")
    (tmp_path / "a10.mkv").write_bytes(b"x")
    (tmp_path / "a2.mov").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / ".hidden.mp4").write_bytes(b"x")
    _frames(tmp_path / "seq")
    (tmp_path / "empty").mkdir()
    _mask(tmp_path / "b.png")
    items = discover(tmp_path)
    assert [i.name for i in items] == ["a2", "a10", "b", "seq"]  # natural order, only videos and frame folders
    by = {i.name: i for i in items}
    assert by["b"].prompt == str(tmp_path / "b.png") and by["a2"].prompt is None
    assert by["seq"].input == str(tmp_path / "seq")


def test_prompts_folder(tmp_path: Path) -> None:
    (tmp_path / "v" / "x.mp4").parent.mkdir()
    (tmp_path / "v" / "x.mp4").write_bytes(b"x")
    (tmp_path / "v" / "y.mp4").write_bytes(b"x")
    _mask(tmp_path / "p" / "x.png")
    _mask(tmp_path / "p" / "y" / "00000.png")
    by = {i.name: i.prompt for i in discover(tmp_path / "v", prompts=tmp_path / "p")}
    assert by == {"x": str(tmp_path / "p" / "x.png"), "y": str(tmp_path / "p" / "y")}


def test_davis_layout_first_mask_is_the_prompt(tmp_path: Path) -> None:
    for seq in ("dog", "cat"):
        _frames(tmp_path / "JPEGImages" / "480p" / seq)
        for k in range(3):
            _mask(tmp_path / "Annotations" / "480p" / seq / f"{k:05d}.png")
    _frames(tmp_path / "JPEGImages" / "480p" / "nomask")
    items = discover(tmp_path)
    assert [i.name for i in items] == ["cat", "dog", "nomask"]
    assert items[0].prompt == str(tmp_path / "Annotations" / "480p" / "cat" / "00000.png")
    assert items[2].prompt is None


def test_youtube_vos_layout_mask_folder_is_the_prompt(tmp_path: Path) -> None:
    _frames(tmp_path / "JPEGImages" / "v1")
    _mask(tmp_path / "Annotations" / "v1" / "00000.png")
    _mask(tmp_path / "Annotations" / "v1" / "00002.png")
    (item,) = discover(tmp_path)
    assert item.name == "v1" and item.prompt == str(tmp_path / "Annotations" / "v1")


def test_manifest_csv_and_jsonl_resolve_relative_paths(tmp_path: Path) -> None:
    m = tmp_path / "lists" / "m.csv"
    m.parent.mkdir()
    m.write_text("input,prompt,name,engine,overlay\n../v/a.mp4,../p/a.png,first,fast,true\n/abs/b.mp4,,,,\n")
    a, b = discover(m, option_names=TRACK_OPTIONS)
    assert (a.name, a.input, a.prompt) == ("first", str(tmp_path / "lists" / ".." / "v" / "a.mp4"),
                                           str(tmp_path / "lists" / ".." / "p" / "a.png"))
    assert a.options == {"engine": "fast", "overlay": "true"}
    assert (b.name, b.input, b.prompt, b.options) == ("b", "/abs/b.mp4", None, {})
    j = tmp_path / "m.jsonl"
    j.write_text("# videos\n" + json.dumps({"input": "c.mp4", "prompt": "c.png", "direction": "forward"}) + "\n\n")
    (c,) = discover(j, option_names=TRACK_OPTIONS)
    assert (c.input, c.prompt, c.options) == (str(tmp_path / "c.mp4"), str(tmp_path / "c.png"), {"direction": "forward"})
    w = tmp_path / "w.csv"  # a weights folder is a path too: from the manifest's folder
    w.write_text("input,prompt,weights\nd.mp4,d.png,runs/engine\ne.mp4,e.png,/abs/engine\n")
    d, e = discover(w, option_names=TRACK_OPTIONS)
    assert (d.options, e.options) == ({"weights": str(tmp_path / "runs" / "engine")}, {"weights": "/abs/engine"})


@pytest.mark.parametrize(("name", "text", "error", "message"), [
    ("m.csv", "prompt\nx.png\n", UsageError, "line 2: no input"),
    ("m.csv", "input,colour\na.mp4,red\n", UsageError, "unknown column 'colour'"),
    ("m.csv", "input\na.mp4,extra\n", UsageError, "more cells"),
    ("m.jsonl", "{not json}\n", UsageError, "line 1: not JSON"),
    ("m.jsonl", "[1, 2]\n", UsageError, "JSON object"),
    ("m.jsonl", '{"input": "a.mp4"}\n{"input": "x/a.mp4"}\n', UsageError, "both get the output folder name 'a'"),
    ("m.jsonl", '{"input": "a.mp4", "name": "../up"}\n', UsageError, "cannot name an output folder"),
    ("m.csv", "input\n", InputError, "no videos"),
])
def test_bad_manifests(tmp_path: Path, name: str, text: str, error: type[Exception], message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(error, match=message.replace("(", r"\(").replace("[", r"\[")):
        discover(tmp_path / name, option_names=TRACK_OPTIONS)


@pytest.mark.parametrize(("setup", "message"), [
    ("missing", "not found"),
    ("empty", "no videos or frame folders"),
])
def test_bad_inputs(tmp_path: Path, setup: str, message: str) -> None:
    target = tmp_path / "in"
    if setup == "empty":
        target.mkdir()
    with pytest.raises(InputError, match=message):
        discover(target)


def test_input_bytes_measures_files_and_frame_folders(tmp_path):
    from vidseg.batch.runner import input_bytes

    (tmp_path / "clip.mp4").write_bytes(b"x" * 10)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        (frames / f"{i:05d}.jpg").write_bytes(b"y" * 7)
    assert input_bytes(tmp_path / "clip.mp4") == 10
    assert input_bytes(frames) == 21
    assert input_bytes(tmp_path / "missing.mp4") == 0
