"""The local backend: one worker process per core, each running one video at a time with one
thread per op, its model loaded once (when the worker starts) and kept for every video it runs.

Workers are started with ``spawn`` (no inherited threads or locks) and die with the driver
(``PR_SET_PDEATHSIG`` on Linux; a worker also exits when its pipe closes). A worker that dies
mid-video (killed, out of memory) is noticed at once through its process sentinel: its video
comes back as a retryable failure and a fresh worker takes its place.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from vidseg.batch.inputs import WorkItem
from vidseg.batch.worker import THREAD_ENV, VideoResult
from vidseg.errors import VidsegError


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Outcome:
    """A video's attempt as the driver saw it: the worker's result and the seconds from
    submitting it to getting the result back."""

    item: WorkItem
    result: VideoResult
    latency: float


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _worker_main(conn: Connection, parent: int, job: str, settings: dict[str, Any], out: str, threads: int,
                 position: int, verbose: bool) -> None:
    """A pool worker: load the model, say ``("ready", pid, seconds)``, then run the videos sent
    over ``conn`` (answering ``("result", VideoResult)``) until ``None`` or EOF."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    from vidseg.batch.worker import VideoWorker

    holder = VideoWorker(job, settings, threads)
    try:
        conn.send(("ready", *holder.ready()))
        while True:
            msg = conn.recv()
            if msg is None:
                return
            item, item_settings, fp = msg
            conn.send(("result", holder.run(job, item_settings, item, out, fp, verbose, position)))
    except (EOFError, OSError):  # the driver is gone
        return


@contextlib.contextmanager
def _thread_env(threads: int) -> Iterator[None]:
    """``OMP_NUM_THREADS`` and its kin set to ``threads`` while a worker is spawned (it inherits
    them). Set later, inside the worker, they come too late for OpenBLAS, whose idle threads then
    spin: measured 85 against 38 CPU ms per frame for the ``fast`` engine on a busy 2-core machine."""
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    os.environ.update({name: str(threads) for name in THREAD_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    busy: tuple[WorkItem, float] | None = None
    ready: bool = False


class LocalPool:
    """``workers`` processes on this machine running ``job`` with ``settings`` (the batch's: the
    model to load first) into ``out``. :attr:`load_seconds` lists each worker start's model load."""

    kind = "local"

    def __init__(self, job: str, settings: dict[str, Any], out: str | Path, workers: int, *,
                 threads: int = 1, verbose: bool = False) -> None:
        self.job, self.settings, self.out = job, settings, str(out)
        self.size = max(1, workers)
        self.threads, self.verbose = threads, verbose
        self.load_seconds: list[float] = []
        self._ctx = multiprocessing.get_context("spawn")
        self._slots: list[_Slot] = []

    def start(self) -> None:
        """Start the workers and wait until each has loaded its model."""
        self._slots = [self._spawn(k) for k in range(self.size)]
        while not all(s.ready for s in self._slots):
            waiting = [s for s in self._slots if not s.ready]
            ready = set(wait([s.conn for s in waiting] + [s.proc.sentinel for s in waiting]))
            for s in waiting:
                if s.conn in ready or s.proc.sentinel in ready:
                    msg = self._receive(s)
                    if msg is None:
                        self.close(graceful=False)
                        raise VidsegError(f"a batch worker process failed to start ({self._death(s)})")

    def _spawn(self, position: int) -> _Slot:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, daemon=True, name=f"vidseg-batch-{position}",
                                 args=(child, os.getpid(), self.job, self.settings, self.out, self.threads,
                                       position + 1, self.verbose))
        with _thread_env(self.threads):  # before the child imports numpy: BLAS pools size themselves then
            proc.start()
        child.close()
        return _Slot(proc, parent)

    def _receive(self, s: _Slot) -> tuple[Any, ...] | None:
        """The slot's next message (a ``ready`` one is recorded), or None when its worker died."""
        try:
            if not s.conn.poll():
                return None if not s.proc.is_alive() else ("nothing",)
            msg = s.conn.recv()
        except (EOFError, OSError):
            return None
        if msg[0] == "ready":
            s.ready = True
            self.load_seconds.append(float(msg[2]))
        return tuple(msg)

    @staticmethod
    def _death(s: _Slot) -> str:
        s.proc.join(timeout=5)
        code = s.proc.exitcode
        return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"

    def worker_pids(self) -> list[int]:
        return [s.proc.pid for s in self._slots]

    def free(self) -> int:
        return sum(s.busy is None for s in self._slots)

    def submit(self, item: WorkItem, settings: dict[str, Any], fp: str) -> str:
        slot = next(s for s in self._slots if s.busy is None)
        slot.busy = (item, time.perf_counter())
        with contextlib.suppress(OSError):  # a worker gone: wait() sees its sentinel, reports the video lost
            slot.conn.send((item, settings, fp))
        return f"local:{slot.proc.pid}"

    def wait(self) -> list[Outcome]:
        """Block until at least one running video finishes (or its worker dies)."""
        out: list[Outcome] = []
        while not out:
            busy = [s for s in self._slots if s.busy is not None]
            if not busy:
                return out
            ready = set(wait([s.conn for s in busy] + [s.proc.sentinel for s in busy]))
            for k, s in enumerate(self._slots):
                if s.busy is None or (s.conn not in ready and s.proc.sentinel not in ready):
                    continue
                item, t0 = s.busy
                msg = self._receive(s)
                if msg is not None and msg[0] != "result":
                    continue  # a replacement worker saying it is ready; its video is under way
                if msg is None:  # the worker died mid-video: a fresh one takes its place
                    result = VideoResult(item.name, "failed", error=f"worker process {s.proc.pid} died "
                                         f"({self._death(s)})", retryable=True, worker=f"local:{s.proc.pid}")
                    with contextlib.suppress(OSError):
                        s.conn.close()
                    self._slots[k] = self._spawn(k)
                else:
                    result = msg[1]
                    s.busy = None
                out.append(Outcome(item, result, time.perf_counter() - t0))
        return out

    def close(self, *, graceful: bool = True) -> None:
        """Stop the workers: ``graceful`` lets each finish its video (up to 10 s), else they are
        terminated at once (an interrupted batch: their temporaries go on the next run)."""
        for s in self._slots:
            with contextlib.suppress(OSError, ValueError):
                s.conn.send(None)
        deadline = time.monotonic() + (10 if graceful else 0)
        for s in self._slots:
            s.proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if s.proc.is_alive():
                s.proc.terminate()
                s.proc.join(timeout=5)
            with contextlib.suppress(OSError):
                s.conn.close()
        self._slots = []
