"""Where downloaded models live: ``$VIDSEG_CACHE``, else ``$XDG_CACHE_HOME/vidseg``, else
``~/.cache/vidseg`` (models under its ``models/`` folder)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """The vidseg cache folder (not created)."""
    env = os.environ.get("VIDSEG_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "vidseg"


def models_dir() -> Path:
    """The folder holding model files (not created)."""
    return cache_dir() / "models"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """The hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
