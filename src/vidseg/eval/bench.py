"""The benchmark runner behind ``vidseg bench``: track every sequence of a DAVIS-layout dataset
from its first-frame masks, write the results, score them, and time everything.

Speed is end to end (decode, track, write the PNGs, tracker set-up included). Peak memory is the
RSS high-water mark (``ru_maxrss``) of the process that tracked the sequence: with ``isolate``
each sequence runs in a fresh fork of the runner, so the figure is that sequence's peak
(including the runner's own baseline); without it, the runner's high-water mark so far.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidseg.errors import DecodeError, InputError, OutputError, VidsegError
from vidseg.eval.dataset import find_sequences, list_masks, natural_key, read_labels
from vidseg.eval.davis import EvalResult, evaluate
from vidseg.io.atomic import OutputSpec, check_outputs, make_temp_dir

if TYPE_CHECKING:
    from vidseg.vos.engines import Tracker

EngineFactory = Callable[[], "Tracker"]
"""Makes a new tracker (anything with the :class:`vidseg.vos.Tracker` interface)."""


def make_engine_factory(name: str, weights: str | None = None) -> EngineFactory:
    """A factory for the engine or baseline called ``name`` (see :mod:`vidseg.vos.engines`), with
    a learned engine's trained ``weights`` folder instead of the shipped one."""
    from vidseg.vos.engines import BASELINES, ENGINES, engine_names, make_tracker

    if name not in ENGINES and name not in BASELINES:
        raise InputError(f"unknown engine {name!r} (choose from {', '.join(engine_names(baselines=True))})")
    return lambda: make_tracker(name, weights=weights)


@dataclass
class SequenceRun:
    """Timing and scores of one sequence."""

    name: str
    frames: int
    seconds: float
    peak_rss_mib: float
    j: float = float("nan")
    f: float = float("nan")
    flicker: float = float("nan")

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")

    @property
    def jf(self) -> float:
        return (self.j + self.f) / 2


@dataclass
class BenchResult:
    """Every sequence's run, the evaluation, and the engine's name."""

    engine: str
    runs: list[SequenceRun]
    evaluation: EvalResult
    out_dir: Path | None
    memory: str  # how peak memory was measured: "per-sequence process" or "runner high-water"

    def mean(self) -> dict[str, float]:
        """Dataset J, F, J&F (objects counted once), mean flicker, overall fps and max peak RSS."""
        m = self.evaluation.mean()
        fl = [o.flicker for o in self.evaluation.objects if not np.isnan(o.flicker)]
        frames = sum(r.frames for r in self.runs)
        secs = sum(r.seconds for r in self.runs)
        return {"J": m["J"], "F": m["F"], "J&F": m["J&F"],
                "flicker": float(np.mean(fl)) if fl else float("nan"),
                "fps": frames / secs if secs > 0 else float("nan"), "frames": float(frames),
                "peak_rss_mib": max((r.peak_rss_mib for r in self.runs), default=float("nan"))}

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "memory": self.memory,
            "sequences": {r.name: {"frames": r.frames, "seconds": r.seconds, "fps": r.fps,
                                   "peak_rss_mib": r.peak_rss_mib, "J": r.j, "F": r.f,
                                   "J&F": r.jf, "flicker": r.flicker} for r in self.runs},
            "mean": self.mean(),
            "davis": self.evaluation.to_dict(),
        }


def dataset_dirs(root: str | Path) -> tuple[Path, Path]:
    """``(JPEGImages/<res>, Annotations/<res>)`` of a DAVIS root: ``480p`` when present, else the one
    resolution folder both have (e.g. ``240p``), else the two folders themselves. Raises
    :class:`InputError`."""
    r = Path(root)
    if not r.is_dir():
        raise InputError("dataset folder not found", r)
    shared = sorted(p.name for p in (r / "JPEGImages").glob("*p")
                    if p.is_dir() and (r / "Annotations" / p.name).is_dir())
    for res in ("480p", *(shared if len(shared) == 1 else []), ""):
        img, ann = r / "JPEGImages" / res, r / "Annotations" / res
        if img.is_dir() and ann.is_dir():
            return img, ann
    raise InputError("not a DAVIS dataset (expected JPEGImages/480p and Annotations/480p)", r)


def run_benchmark(
    root: str | Path,
    *,
    engine: str = "default",
    sequences: Sequence[str] | None = None,
    out_dir: str | Path | None = None,
    force: bool = False,
    engine_factory: EngineFactory | None = None,
    isolate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Track, write, score and time every sequence (or ``sequences``) of the DAVIS root ``root``.

    ``engine`` names ``copy`` or a tracking engine (see :mod:`vidseg.vos.engines`); ``engine_factory`` overrides it (tests).
    Results go to ``out_dir/<seq>/`` (a temporary folder, removed afterwards, when ``None``).
    ``progress`` is called with each sequence's name once it is tracked.
    """
    img_root, ann_root = dataset_dirs(root)
    factory = engine_factory or make_engine_factory(engine)
    all_seqs = find_sequences(ann_root)
    names = list(sequences) if sequences else sorted(all_seqs, key=natural_key)
    for n in names:
        if n not in all_seqs:
            raise InputError(f"no annotations for sequence {n!r}", ann_root)
        if not (img_root / n).is_dir():
            raise InputError(f"no frames for sequence {n!r}", img_root / n)
    tmp = out_dir is None
    out = make_temp_dir("vidseg-bench-") if out_dir is None else Path(out_dir)
    try:
        for n in names:
            if (out / n).is_dir() and any((out / n).iterdir()) and not force:
                raise OutputError("results already exist (use --force to overwrite)", out / n)
        check_outputs([OutputSpec(f"--out {out} (sequence {n})", out / n, "folder") for n in names],
                      [*(img_root / n for n in names), *(all_seqs[n] for n in names)], force=force)
        runs = []
        for n in names:
            first = read_labels(list_masks(all_seqs[n])[0])
            job = (img_root / n, first, out / n, factory, force)
            frames, secs, rss_kib = _run_isolated(job) if isolate else _track_sequence(*job)
            runs.append(SequenceRun(n, frames, secs, rss_kib / 1024.0))
            if progress is not None:
                progress(n)
        result = evaluate(ann_root, out, sequences=names)
        per_seq = result.sequences()
        for r in runs:
            s = per_seq[r.name]
            r.j, r.f, r.flicker = s["J"], s["F"], s["flicker"]
    finally:
        if tmp:
            shutil.rmtree(out, ignore_errors=True)
    memory = "per-sequence process" if isolate else "runner high-water"
    return BenchResult(engine, runs, result, None if tmp else out, memory)


def _track_sequence(frames_dir: Path, first: np.ndarray, out: Path, factory: EngineFactory,
                    force: bool) -> tuple[int, float, int]:
    """Track one sequence from its first mask, writing ``out/<stem>.png`` through the one tracking
    job (:func:`vidseg.vos.job.track_video`). Returns (frames, seconds, ru_maxrss KiB)."""
    from vidseg.io.reader import open_video
    from vidseg.vos.job import TrackOutputs, track_video

    t0 = time.perf_counter()
    tracker = factory()
    with open_video(frames_dir) as reader:
        if (reader.info.height, reader.info.width) != first.shape:
            raise InputError(f"first mask is {first.shape[1]}x{first.shape[0]} but the frames "
                             f"are {reader.info.width}x{reader.info.height}", frames_dir)
        run = track_video(reader, {0: first}, TrackOutputs(masks=out, force=force), engine=tracker,
                          direction="forward")
    if run.decode_error is not None:
        raise run.decode_error
    secs = time.perf_counter() - t0
    return run.frames, secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(conn: Any, job: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", _track_sequence(*job)))
    except VidsegError as exc:
        conn.send(("vidseg", (type(exc).__name__, exc.message, exc.path)))
    except BaseException:  # noqa: BLE001 - report anything to the parent
        conn.send(("crash", traceback.format_exc()))
    finally:
        conn.close()


def _run_isolated(job: tuple[Any, ...]) -> tuple[int, float, int]:
    """Run :func:`_track_sequence` in a forked child so that its peak RSS is its own."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" not in methods:  # pragma: no cover - Windows/macOS-spawn: measure in-process
        return _track_sequence(*job)
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, job))
    proc.start()
    child.close()
    try:
        kind, payload = parent.recv()
    except EOFError:
        proc.join()
        raise VidsegError(f"tracking process died (exit code {proc.exitcode})", job[0]) from None
    proc.join()
    if kind == "ok":
        return payload  # type: ignore[no-any-return]
    if kind == "vidseg":
        cls = {"InputError": InputError, "OutputError": OutputError, "DecodeError": DecodeError}.get(
            payload[0], VidsegError)
        raise cls(payload[1], payload[2])
    last = payload.strip().splitlines()[-1] if payload.strip() else "unknown error"
    raise VidsegError(f"tracking crashed: {last}", job[0])
