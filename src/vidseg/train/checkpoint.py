"""Training checkpoints: written whole under a temporary name and renamed (a kill -9 mid-write
never replaces a good checkpoint), read back with one clear error when damaged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vidseg.errors import InputError
from vidseg.io.atomic import atomic_path


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (torch-serialisable) to ``path`` atomically."""
    with atomic_path(path, force=True) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, required: str = "net", what: str = "vidseg checkpoint") -> dict[str, Any]:
    """A checkpoint's state; a corrupt, truncated or foreign file gives an :class:`InputError`
    naming it."""
    if not Path(path).is_file():
        raise InputError("checkpoint not found", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds
        raise InputError(f"not a readable checkpoint ({type(exc).__name__}): damaged or truncated", path) from exc
    if not isinstance(state, dict) or required not in state:
        raise InputError(f"not a {what}", path)
    return state
