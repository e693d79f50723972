"""The cache folder honours VIDSEG_CACHE, then XDG_CACHE_HOME, then ~/.cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vidseg.models.cache import cache_dir, models_dir, sha256_file


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDSEG_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "vidseg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "vidseg"
    monkeypatch.setenv("VIDSEG_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    assert models_dir() == tmp_path / "mine" / "models"


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000
    p.write_bytes(data)
    assert sha256_file(p, chunk=4096) == hashlib.sha256(data).hexdigest()
