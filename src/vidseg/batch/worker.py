"""One video of a batch, in whichever process runs it (a local pool worker or a Ray actor).

Its outputs are written into a temporary folder beside ``OUT/<name>/`` and renamed into place
when complete (:func:`vidseg.io.atomic.atomic_dir`), together with a marker file
(:data:`MARKER`: the settings' fingerprint, frames, seconds, the outputs' SHA-256 and each file's
size). The rename is the moment a video is done: a driver that died before recording it finds
the marker on its next run (:func:`verify_outputs`) and does not redo the video; a worker killed
before the rename leaves only a temporary (removed by the next run) or, when its input broke
part-way, ``OUT/<name>.partial/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidseg.batch.inputs import WorkItem
from vidseg.batch.jobs import Wrap
from vidseg.errors import DecodeError, VidsegError

MARKER = ".vidseg-batch.json"
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class VideoResult:
    """What one attempt at one video gave: ``done`` (frames, seconds, checksum) or ``failed``
    (a one-line error; ``retryable`` when it was not the input's fault, e.g. a crash)."""

    name: str
    status: str
    frames: int = 0
    seconds: float = 0.0  # the job (decode, model, write), model load excluded
    load_seconds: float = 0.0  # loading the model in this attempt (0 when the worker had it)
    cpu_seconds: float = 0.0  # CPU time of the job, all threads of the worker process
    checksum: str | None = None
    error: str | None = None
    retryable: bool = False
    warnings: list[str] = field(default_factory=list)
    worker: str = ""  # host:pid that ran it

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(job: str, item: WorkItem, settings: dict[str, Any]) -> str:
    """A short hash of everything that decides a video's outputs (job, input, prompt, settings):
    a finished video is reused only when it matches."""
    text = json.dumps([job, item.input, item.prompt, settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def limit_threads(threads: int = 1) -> None:
    """One thread per op in this process (on a small machine several processes each running
    several threads are slower than one each): OpenMP/BLAS pools and OpenCV."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    import cv2

    cv2.setNumThreads(threads)


def digest(folder: Path) -> tuple[str, dict[str, int]]:
    """SHA-256 over every file under ``folder`` (relative path and bytes, in sorted order; the
    marker left out) and each file's size."""
    h = hashlib.sha256()
    sizes: dict[str, int] = {}
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER)
    for p in files:
        rel = p.relative_to(folder).as_posix()
        h.update(rel.encode() + b"\0")
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        sizes[rel] = p.stat().st_size
    return h.hexdigest(), sizes


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verify_outputs(folder: Path, fingerprint: str) -> dict[str, Any] | None:
    """The marker of a finished video in ``folder`` when it was made with ``fingerprint`` and
    every file it lists is still there with its size; else None."""
    marker = read_marker(folder)
    if marker is None or marker.get("fingerprint") != fingerprint:
        return None
    files = marker.get("files")
    if not isinstance(files, dict):
        return None
    for rel, size in files.items():
        p = folder / rel
        try:
            if p.stat().st_size != size:
                return None
        except OSError:
            return None
    return marker


def run_item(job_name: str, settings: dict[str, Any], item: WorkItem, out: str | Path, fp: str,
             wrap: Wrap | None = None) -> VideoResult:
    """Run ``job_name`` on ``item`` with ``settings`` and land its outputs in ``out/<name>/``.
    Never raises for a video's own failure: the result says ``failed`` with the error."""
    from vidseg.batch.jobs import get_job
    from vidseg.io.atomic import atomic_dir, partial_path

    me = worker_id()
    final = Path(out) / item.name
    load = 0.0
    t0 = time.perf_counter()
    try:
        job = get_job(job_name)
        load = job.warm(settings)
        t0, cpu0 = time.perf_counter(), time.process_time()
        warnings: list[str] = []
        with atomic_dir(final, force=True) as tmp:
            frames = job.run(item, settings, tmp, wrap, warnings)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            checksum, sizes = digest(tmp)
            marker = {"name": item.name, "job": job_name, "input": item.input, "prompt": item.prompt,
                      "settings": settings, "fingerprint": fp, "frames": frames, "seconds": round(seconds, 4),
                      "checksum": checksum, "files": sizes, "worker": me, "finished": time.time()}
            (tmp / MARKER).write_text(json.dumps(marker, indent=1, default=str) + "\n")
        return VideoResult(item.name, "done", frames, seconds, load, cpu, checksum, warnings=warnings, worker=me)
    except DecodeError as exc:
        where = partial_path(final, folder=True)
        kept = f"; the {exc.frames_done} frame(s) before it are in {where}" if where.is_dir() else ""
        return _failed(item, f"{exc}{kept}", t0, load, me)
    except VidsegError as exc:
        return _failed(item, str(exc), t0, load, me)
    except MemoryError:
        return _failed(item, "out of memory", t0, load, me, retryable=True)
    except Exception as exc:  # noqa: BLE001 - one video's crash must not end the batch
        text = " ".join(str(exc).split())[:300] or "(no message)"
        return _failed(item, f"unexpected {type(exc).__name__}: {text}", t0, load, me, retryable=True)


def _failed(item: WorkItem, error: str, t0: float, load: float, me: str, *, retryable: bool = False) -> VideoResult:
    return VideoResult(item.name, "failed", seconds=time.perf_counter() - t0, load_seconds=load,
                       error=" ".join(error.split()), retryable=retryable, worker=me)


def video_bar(name: str, position: int, *, ray: bool = False) -> Wrap:
    """A per-video progress bar (``-v``): tqdm on stderr at ``position``, or Ray's tqdm, which
    the driver draws."""

    def wrap(items: Iterator[Any], total: int | None, desc: str) -> Iterable[Any]:
        if ray:
            from ray.experimental.tqdm_ray import tqdm as ray_tqdm

            return ray_tqdm(items, total=total, desc=f"{name} {desc}")  # type: ignore[no-any-return]
        from tqdm import tqdm

        return tqdm(items, total=total, desc=f"{name} {desc}", unit="frame", position=position, leave=False,
                    file=sys.stderr, dynamic_ncols=True)

    return wrap


class VideoWorker:
    """A long-lived worker that keeps its models between videos: what a local pool process runs
    (:mod:`vidseg.batch.local`) and what a Ray actor wraps (:mod:`vidseg.batch.ray_runner`). The
    model of the batch's settings loads when it starts (:attr:`load_seconds`)."""

    def __init__(self, job_name: str, settings: dict[str, Any], threads: int = 1, *, ray: bool = False) -> None:
        from vidseg.batch.jobs import get_job

        limit_threads(threads)
        self.ray = ray
        self.load_seconds = 0.0
        with contextlib.suppress(VidsegError):  # each video then fails with the error, one by one
            job = get_job(job_name)
            self.load_seconds = job.warm(job.settings(settings))

    def ready(self) -> tuple[int, float]:
        """This worker's process id and the seconds its model took to load."""
        return os.getpid(), self.load_seconds

    def run(self, job_name: str, settings: dict[str, Any], item: WorkItem, out: str, fp: str,
            verbose: bool = False, position: int = 0) -> VideoResult:
        wrap = video_bar(item.name, position, ray=self.ray) if verbose else None
        return run_item(job_name, settings, item, out, fp, wrap)
