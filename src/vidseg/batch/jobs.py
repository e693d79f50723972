"""The jobs a batch runs on each video: ``track`` (:func:`vidseg.vos.job.track_video`, what
``vidseg track`` runs) and ``segment`` (:func:`vidseg.segment.job.segment_video`, what
``vidseg segment`` runs). A job names its options (each with a parser that takes the command
line's value or a manifest's text, and a default), says whether a video needs a prompt, loads its
model once per process (:meth:`BatchJob.warm`) and writes one video's outputs into a folder
(:meth:`BatchJob.run`). Another job plugs in by adding a :class:`BatchJob` to :data:`JOBS`.

Outputs in ``OUT/<name>/``: ``masks/`` (palette PNGs named by frame stem), and as asked
``overlay.mp4``, ``masks.json`` (COCO RLE); ``track`` also ``report.json`` (the tracking report)
and ``mask-video.mp4``; ``segment`` also ``soft/`` (probability PNGs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from vidseg.batch.inputs import WorkItem
from vidseg.errors import InputError

if TYPE_CHECKING:
    from vidseg.vos.job import Progress

Wrap = Callable[[Iterator[Any], "int | None", str], Iterable[Any]]
Parser = Callable[[Any], Any]

# the per-process cache: a worker loads each engine or model once, whatever the number of videos
_LOADED: dict[tuple[str, ...], Any] = {}  # this process's trackers and models, loaded once


def _loaded(key: tuple[str, ...], load: Callable[[], Any]) -> tuple[Any, bool]:
    """The tracker or model named by ``key`` (its kind first), loaded by ``load`` on first use;
    and whether it was loaded now."""
    fresh = key not in _LOADED
    if fresh:
        _LOADED[key] = load()
    return _LOADED[key], fresh


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    raise InputError(f"{value!r} is not true or false")


def _number(kind: type, lo: float | None = None, hi: float | None = None) -> Parser:
    def parse(value: Any) -> Any:
        if value is None:
            return None
        try:
            out = kind(value)
        except (TypeError, ValueError):
            raise InputError(f"{value!r} is not a{'n integer' if kind is int else ' number'}") from None
        if (lo is not None and out < lo) or (hi is not None and out > hi):
            raise InputError(f"{value!r} is outside {lo}..{hi}")
        return out

    return parse


def _choice(*names: str) -> Parser:
    def parse(value: Any) -> str:
        if str(value) not in names:
            raise InputError(f"{value!r} is not one of {', '.join(names)}")
        return str(value)

    return parse


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _rate(value: Any) -> str | None:
    """A frame rate kept as text (JSON-friendly): ``25``, ``29.97``, ``30000/1001``."""
    if value is None:
        return None
    try:
        fps = Fraction(str(value).strip()).limit_denominator(100000)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{value!r} is not a frame rate (e.g. 25, 29.97 or 30000/1001)") from None
    if fps <= 0:
        raise InputError(f"{value!r}: the frame rate must be positive")
    return str(fps)


@dataclass(frozen=True)
class BatchJob:
    """One kind of per-video job: its options (name -> (parser, default)), whether a video needs
    a prompt, how a worker loads its model once (``warm``) and runs one video (``run``)."""

    name: str
    options: Mapping[str, tuple[Parser, Any]]
    needs_prompt: bool
    warm_fn: Callable[[dict[str, Any]], bool]
    run_fn: Callable[[WorkItem, dict[str, Any], Path, Wrap | None, list[str]], int]
    check_fn: Callable[[dict[str, Any]], None] | None = None  # options checked together, before any work

    def settings(self, given: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every option's value: the defaults, then ``given`` (the command line's), then
        ``overrides`` (a manifest row's), each parsed; :class:`InputError` naming a bad one."""
        out = {k: default for k, (_, default) in self.options.items()}
        for source in (given, overrides or {}):
            for key, value in source.items():
                if key not in self.options:
                    raise InputError(f"{self.name} has no option {key!r}")
                try:
                    out[key] = self.options[key][0](value)
                except InputError as exc:
                    raise InputError(f"option {key}: {exc.message}") from None
        return out

    def check_settings(self, settings: dict[str, Any]) -> None:
        """What the options say together before any work (a learned engine's weights folder
        matching its card): :class:`InputError`."""
        if self.check_fn is not None:
            self.check_fn(settings)

    def check(self, item: WorkItem, settings: dict[str, Any]) -> None:
        """What can be told before a worker starts: a missing prompt, bad options together
        (:class:`InputError`)."""
        if self.needs_prompt and item.prompt is None:
            raise InputError("no prompt mask for this video (a <name>.png beside it, --prompts DIR, a "
                             "DAVIS/YouTube-VOS Annotations folder or the manifest's prompt column)",
                             item.input)
        self.check_settings(settings)

    def warm(self, settings: dict[str, Any]) -> float:
        """Load this job's model into the process cache; the seconds it took (0 when cached)."""
        t0 = time.perf_counter()
        loaded = self.warm_fn(settings)
        return time.perf_counter() - t0 if loaded else 0.0

    def run(self, item: WorkItem, settings: dict[str, Any], folder: Path, wrap: Wrap | None,
            warnings: list[str]) -> int:
        """Write ``item``'s outputs into ``folder``; the frames done. A :class:`DecodeError`
        (the video broke part-way) is raised after the frames before it are written under
        ``.partial`` names; ``warnings`` receives what the single-video command would warn."""
        return self.run_fn(item, settings, folder, wrap, warnings)


# -- track -----------------------------------------------------------------------------------------
def _tracker(settings: dict[str, Any]) -> tuple[Any, bool]:
    """The process's tracker for the settings' engine and weights; and whether it was loaded now."""
    from vidseg.vos.engines import make_tracker

    engine, weights = settings["engine"], settings["weights"]
    return _loaded(("tracker", engine, weights or ""), lambda: make_tracker(engine, threads=1, weights=weights))


def _warm_track(settings: dict[str, Any]) -> bool:
    return _tracker(settings)[1]


_CHECKED_WEIGHTS: set[tuple[Any, ...]] = set()  # weights folders (as their files stood) found sound


def _check_track(settings: dict[str, Any]) -> None:
    """A ``weights`` folder must hold trained weights matching their card, for a learned engine
    (hashed once per process while its files stay as they were: the videos of a batch usually
    share them)."""
    engine, weights = settings["engine"], settings["weights"]
    if weights is None:
        return
    from vidseg.vos.engines import check_weights

    folder = Path(weights)
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()) \
        if folder.is_dir() else []
    stamp = (engine, weights, *files)
    if files and stamp in _CHECKED_WEIGHTS:
        return

    try:
        check_weights(engine, weights)
    except InputError as exc:
        raise InputError(f"option weights: {exc.message}", exc.path) from None
    _CHECKED_WEIGHTS.add(stamp)


def _run_track(item: WorkItem, s: dict[str, Any], folder: Path, wrap: Wrap | None, warnings: list[str]) -> int:
    from vidseg.io.reader import open_video
    from vidseg.vos.job import TrackOutputs, track_video
    from vidseg.vos.prompts import load_video_prompts

    assert item.prompt is not None
    outputs = TrackOutputs(masks=folder / "masks", report=folder / "report.json",
                           overlay=folder / "overlay.mp4" if s["overlay"] else None,
                           rle=folder / "masks.json" if s["rle"] else None,
                           mask_video=folder / "mask-video.mp4" if s["mask_video"] else None,
                           alpha=s["alpha"], audio=s["audio"], force=True)
    fps = Fraction(s["fps"]) if s["fps"] else None
    with open_video(item.input, fps=fps, strict=s["strict"]) as reader:
        prompts = load_video_prompts(reader, item.prompt, frame=s["frame"], warn=warnings.append)
        run = track_video(reader, prompts, outputs, engine=_tracker(s)[0], direction=s["direction"],
                          progress=cast("Progress | None", wrap), inputs=[item.prompt])
        damage = reader.damage_summary()
    if run.decode_error is not None:
        raise run.decode_error
    warnings.extend(run.report.problems())
    if damage is not None:
        warnings.append(damage)
    return run.frames


def _track_options() -> dict[str, tuple[Parser, Any]]:
    from vidseg.vos.engines import engine_names

    return {
        "engine": (_choice(*engine_names()), "default"),
        "weights": (_text, None),
        "direction": (_choice("both", "forward", "backward"), "both"),
        "frame": (_number(int, 0), None),
        **_COMMON,
        "mask_video": (parse_bool, False),
    }


# -- segment ---------------------------------------------------------------------------------------
def _load_model(name: str) -> Any:
    from vidseg.models.model import load_model

    return load_model(name, threads=1)


def _model(name: str) -> tuple[Any, bool]:
    """The process's model called ``name``; and whether it was loaded now."""
    return _loaded(("model", name), lambda: _load_model(name))


def _warm_segment(settings: dict[str, Any]) -> bool:
    return _model(settings["model"])[1]


def _run_segment(item: WorkItem, s: dict[str, Any], folder: Path, wrap: Wrap | None,
                 warnings: list[str]) -> int:
    from vidseg.segment.job import Outputs, segment_video
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    model = _model(s["model"])[0]
    if s["smooth"] and model.card.task == "instance":
        raise InputError("smooth applies to semantic models; instance models keep ids stable instead")
    classes = tuple(c.strip() for c in (s["classes"] or "").split(",") if c.strip())
    options = SegmentOptions(classes=classes, upsample=s["upsample"], smooth=s["smooth"],
                             threshold=s["threshold"], want_probability=bool(s["soft"]))
    outputs = Outputs(masks=folder / "masks", overlay=folder / "overlay.mp4" if s["overlay"] else None,
                      rle=folder / "masks.json" if s["rle"] else None, soft=folder / "soft" if s["soft"] else None,
                      alpha=s["alpha"], audio=s["audio"], force=True)

    def bar(frames: Iterator[Any], total: int | None) -> Iterable[Any]:
        return frames if wrap is None else wrap(frames, total, "segment")

    fps = Fraction(s["fps"]) if s["fps"] else None
    report = segment_video(item.input, Segmenter(model, options), outputs, wrap=bar, fps=fps, strict=s["strict"])
    if report.decode_error is not None:
        raise report.decode_error
    if report.damage is not None:
        warnings.append(report.damage)
    return report.frames


def _segment_options() -> dict[str, tuple[Parser, Any]]:
    return {
        "model": (_text, "person"),
        "classes": (_text, None),
        "upsample": (_choice("nearest", "bilinear"), "nearest"),
        "smooth": (parse_bool, False),
        "threshold": (_number(float, 0.0, 1.0), None),
        **_COMMON,
        "soft": (parse_bool, False),
    }


_COMMON: dict[str, tuple[Parser, Any]] = {
    "overlay": (parse_bool, False),
    "rle": (parse_bool, False),
    "alpha": (_number(float, 0.0, 1.0), 0.5),
    "audio": (parse_bool, True),
    "fps": (_rate, None),
    "strict": (parse_bool, False),
}

JOBS: dict[str, BatchJob] = {
    "track": BatchJob("track", _track_options(), True, _warm_track, _run_track, _check_track),
    "segment": BatchJob("segment", _segment_options(), False, _warm_segment, _run_segment),
}


def get_job(name: str) -> BatchJob:
    """The job called ``name``; :class:`InputError` naming the choices."""
    try:
        return JOBS[name]
    except KeyError:
        raise InputError(f"unknown batch job {name!r} (choose from {', '.join(JOBS)})") from None


__all__ = ["JOBS", "BatchJob", "get_job", "parse_bool"]
