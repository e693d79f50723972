"""Tracking engines by name: what `vidseg track -p NAME` and `vidseg bench --engine NAME` pick.

``fast``, ``default`` and ``accurate`` are the shipped engine's presets (the motion-compensated
bilateral-grid tracker of :mod:`vidseg.vos.bgrid`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

from vidseg.errors import InputError


class Tracker(Protocol):
    """The stepping interface every engine offers (Cutie's ``step``)."""

    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray: ...

    @property
    def object_ids(self) -> list[int]: ...

    def probabilities(self) -> tuple[list[int], np.ndarray]: ...

    def reset(self) -> None: ...


def _bgrid(preset: str) -> Callable[[], Tracker]:
    def make() -> Tracker:
        from vidseg.vos.bgrid import BgridTracker, get_bgrid_preset

        return BgridTracker(get_bgrid_preset(preset))

    return make


ENGINES: dict[str, Callable[[], Tracker]] = {
    "fast": _bgrid("fast"),
    "default": _bgrid("default"),
    "accurate": _bgrid("accurate"),
}


def engine_names() -> list[str]:
    """Every engine name, the shipped presets first."""
    return list(ENGINES)


def make_tracker(name: str) -> Tracker:
    """A new tracker for the engine called ``name``; :class:`InputError` naming the choices."""
    try:
        factory = ENGINES[name]
    except KeyError:
        raise InputError(f"unknown tracker preset {name!r} (choose from {', '.join(ENGINES)})") from None
    return factory()
