"""Property tests: random bytes, truncations and random headers fed to every reader of user files
(videos, frame folders, masks, model cards) give a VidsegError or a result, never another
exception."""

from __future__ import annotations

import contextlib
import json
import struct
import tempfile
import zlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vidseg.errors import VidsegError
from vidseg.io import open_video, read_mask
from vidseg.io.palette import write_mask
from vidseg.models.card import load_card
from vidseg.synthetic import demo_scene, encode_clip

SETTINGS = settings(max_examples=int(__import__("os").environ.get("VIDSEG_PROP_EXAMPLES", "30")), deadline=None, derandomize=__import__("os").environ.get("VIDSEG_PROP_EXAMPLES") is None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MAX_FRAMES = 40


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Valid files to damage: an mp4 (index first), an mkv, a palette PNG, a model card."""
    d = tmp_path_factory.mktemp("samples")
    scene = demo_scene(width=64, height=48, n_frames=10)
    encode_clip((scene.render(t)[0] for t in range(10)), d / "v.mp4", fps=Fraction(25), audio=False,
                container_options={"movflags": "+faststart"})
    encode_clip((scene.render(t)[0] for t in range(10)), d / "v.mkv", fps=Fraction(25), audio=True)
    write_mask(d / "m.png", scene.render(3)[1])
    card = {"name": "m", "task": "semantic", "input_size": [32, 24], "labels": ["bg", "person"],
            "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    (d / "c.json").write_text(json.dumps(card))
    return {name: (d / name).read_bytes() for name in ("v.mp4", "v.mkv", "m.png", "c.json")}


def _outcome(read: Callable[[Path], object], name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="vidseg-prop-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        with contextlib.suppress(VidsegError):  # a clear error naming the problem is fine
            read(path)


def _read_video(path: Path) -> None:
    with open_video(path) as r:
        for i, _ in enumerate(r):
            if i >= MAX_FRAMES:
                break
        r.damage_summary()


def _read_folder(path: Path) -> None:
    folder = path.parent / "frames"
    folder.mkdir()
    (folder / f"f0{path.suffix}").write_bytes(path.read_bytes())
    path.rename(folder / f"f1{path.suffix}")
    _read_video(folder)


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    n = len(data)
    cut = st.integers(0, n).map(lambda k: data[:k])
    junk = st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=512)).map(
        lambda a: data[:a[0]] + a[1] + data[a[0] + len(a[1]):])
    header = st.binary(min_size=1, max_size=64).map(lambda b: b + data[len(b):])
    return st.one_of(cut, junk, header, st.binary(max_size=2048))


def _png_with_header(width: int, height: int, depth: int, colour: int, body: bytes) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b"")


random_png = st.builds(_png_with_header, st.integers(0, 2**31 - 1) | st.integers(1, 300),
                       st.integers(0, 2**31 - 1) | st.integers(1, 300), st.sampled_from([1, 2, 4, 8, 16, 3]),
                       st.sampled_from([0, 2, 3, 4, 6, 1, 7]), st.binary(max_size=4096))


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_video_reader_never_raises_anything_else(samples: dict[str, bytes], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["v.mp4", "v.mkv"]))
    _outcome(_read_video, name, data.draw(_mutations(samples[name])))


@SETTINGS
@given(data=st.data())
def test_frame_folder_reader_never_raises_anything_else(samples: dict[str, bytes], data: st.DataObject) -> None:
    png = data.draw(st.one_of(_mutations(samples["m.png"]), random_png))
    _outcome(_read_folder, data.draw(st.sampled_from(["f.png", "f.jpg"])), png)


@SETTINGS
@given(data=st.data())
def test_mask_reader_never_raises_anything_else(samples: dict[str, bytes], data: st.DataObject) -> None:
    png = data.draw(st.one_of(_mutations(samples["m.png"]), random_png))
    _outcome(read_mask, "m.png", png)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
card_fields = st.sampled_from(["name", "task", "input_size", "layout", "dtype", "color", "scale", "mean", "std",
                               "labels", "output", "output_layout", "resize", "threshold", "url", "sha256",
                               "extra", "description"])
cards = st.dictionaries(card_fields, json_values, max_size=8).map(
    lambda d: {"name": "x", "task": "semantic", **d})


@SETTINGS
@given(data=st.data())
def test_model_card_reader_never_raises_anything_else(samples: dict[str, bytes], data: st.DataObject) -> None:
    text = data.draw(st.one_of(
        _mutations(samples["c.json"]),
        cards.map(lambda c: json.dumps(c).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ))
    _outcome(load_card, "c.json", text)
