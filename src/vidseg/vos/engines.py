"""Tracking engines by name: what ``vidseg track -e NAME``, ``vidseg bench --engine NAME`` and
``TrackingSession(video, NAME)`` pick.

:data:`ENGINES` is the registry: a name -> a factory of a new tracker, whose docstring is the
name's one-line description (``--help`` shows it). The general names ``fast``, ``default`` and
``accurate`` name the learned engine's presets (:mod:`vidseg.vos.learned`, the shipped default);
``classical``, ``classical-fast`` and ``classical-accurate`` name the classical engine's, for
users who want no learned weights. :data:`BASELINES` holds what a benchmark compares against
(``copy``: the given mask repeated); :func:`make_tracker` knows both, :func:`engine_names` lists
the engines and, with ``baselines=True``, the baselines after them. This module is the one place
that names engines and the one interface they share (:class:`Tracker`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from vidseg.errors import InputError
from vidseg.vos.stepping import Tracker

__all__ = ["BASELINES", "ENGINES", "LEARNED_ENGINES", "EngineConfig", "Tracker", "check_weights",
           "engine_descriptions", "engine_names", "make_tracker", "resolve_tracker"]


@runtime_checkable
class EngineConfig(Protocol):
    """An engine's settings that can build the engine (e.g. :class:`ClassicalConfig`)."""

    def make_tracker(self) -> Tracker: ...


def _classical(preset: str, description: str) -> Callable[..., Tracker]:
    def make(threads: int | None = None) -> Tracker:  # OpenCV's threads are process-wide: not set here
        from vidseg.vos.classical import ClassicalTracker, get_classical_preset

        return ClassicalTracker(get_classical_preset(preset))

    make.__doc__ = description
    return make


def _learned(preset: str, description: str) -> Callable[..., Tracker]:
    def make(threads: int | None = None, weights: str | None = None) -> Tracker:
        from vidseg.vos.learned import LearnedTracker, get_learned_preset

        config = get_learned_preset(preset)
        if threads is not None:
            config = replace(config, threads=threads)
        return LearnedTracker(config if weights is None else replace(config, weights=str(weights)))

    make.__doc__ = description
    return make


LEARNED_ENGINES = ("fast", "default", "accurate")  # the engines that take trained weights (--weights)

ENGINES: dict[str, Callable[..., Tracker]] = {
    "fast": _learned("fast", "learned engine at a smaller working size, for live video"),
    "default": _learned("default", "learned memory-matching engine (the recommended one)"),
    "accurate": _learned("accurate", "learned engine at a larger working size, slower"),
    "classical": _classical("default", "motion-compensated bilateral-grid label transfer, no learned weights"),
    "classical-fast": _classical("fast", "classical at a smaller working size with coarser flow"),
    "classical-accurate": _classical("accurate", "classical at full resolution, about 3x slower"),
}


def _copy(threads: int | None = None) -> Tracker:
    """the given mask repeated on every frame: the floor any tracker must beat"""
    from vidseg.vos.baseline import CopyTracker

    return CopyTracker()


BASELINES: dict[str, Callable[..., Tracker]] = {"copy": _copy}


def engine_names(*, baselines: bool = False) -> list[str]:
    """Every engine name, the general names first; then the baselines when ``baselines``."""
    return list(ENGINES) + (list(BASELINES) if baselines else [])


def engine_descriptions(*, baselines: bool = False) -> dict[str, str]:
    """Each engine name's one-line description (its factory's docstring)."""
    table = {**ENGINES, **BASELINES} if baselines else ENGINES
    return {name: (factory.__doc__ or "").strip().split("\n")[0] for name, factory in table.items()}


def make_tracker(name: str, *, threads: int | None = None, weights: str | None = None) -> Tracker:
    """A new tracker for the engine (or baseline) called ``name``; :class:`InputError` naming the
    choices. ``threads`` sets the ONNX Runtime threads per op of a learned engine (default: its
    preset's); OpenCV's threads are process-wide (``cv2.setNumThreads``). ``weights``: a folder
    of trained weights (``vidseg train-engine``'s ``RUN/engine``) for a learned engine instead
    of the shipped ones."""
    factory = ENGINES.get(name) or BASELINES.get(name)
    if factory is None:
        raise InputError(f"unknown engine {name!r} (choose from {', '.join(engine_names(baselines=True))})")
    if weights is None:
        return factory(threads=threads)
    _takes_weights(name)
    return factory(threads=threads, weights=weights)  # the learned engine checks them as it loads them


def check_weights(name: str, weights: str) -> None:
    """:class:`InputError` unless the engine ``name`` takes trained weights and the folder
    ``weights`` holds them, each file matching its card (a check before any work; no graph is
    loaded)."""
    _takes_weights(name)
    from vidseg.vos.learned.weights import engine_graph_paths

    engine_graph_paths(weights)


def _takes_weights(name: str) -> None:
    if name not in LEARNED_ENGINES:
        kind = "baseline" if name in BASELINES else "engine"
        raise InputError(f"the {name} {kind} has no trained weights (weights are for {', '.join(LEARNED_ENGINES)})")


def resolve_tracker(engine: str | EngineConfig | Tracker) -> Tracker:
    """A tracker from an engine name (a new one), an engine's config (a new one, from its
    ``make_tracker()``) or a ready tracker (itself)."""
    if isinstance(engine, str):
        return make_tracker(engine)
    if isinstance(engine, EngineConfig):
        return engine.make_tracker()
    if callable(getattr(engine, "step", None)) and callable(getattr(engine, "reset", None)):
        return engine
    raise InputError(f"{type(engine).__name__} is not an engine name, an engine config or a tracker")
