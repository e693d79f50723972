"""Decode | infer | encode, overlapped in three threads joined by bounded queues.

On a 2-core machine under load, two threads per op are many times slower than one: the model
runs on one intra-op thread while decoding and encoding (PyAV, OpenCV, both release the GIL)
run beside it. The bounded queues keep memory flat and let the slowest stage set the pace.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

F = TypeVar("F")
R = TypeVar("R")

_END = object()


def run_pipeline(
    frames: Iterable[F],
    process: Callable[[F], R],
    consume: Callable[[F, R], None],
    *,
    queue_size: int = 4,
    on_frame: Callable[[], None] | None = None,
) -> int:
    """Feed ``frames`` (decoded in a reader thread) to ``process`` (this thread), and each
    ``(frame, result)`` to ``consume`` (a writer thread), in order. Returns the frames done.

    An exception while decoding is raised here once the frames decoded before it are written; an
    exception in ``process`` or ``consume`` stops everything at once and is raised here. ``on_frame`` is called in
    the writer thread after each frame is consumed (progress bars).
    """
    q_in: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
    q_out: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()
    errors: list[BaseException] = []
    done = 0

    def put(q: queue.Queue[Any], item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(q: queue.Queue[Any]) -> Any:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return _END

    def reader() -> None:
        try:
            for f in frames:
                if not put(q_in, f):
                    return
        except BaseException as exc:  # raised in the caller after the frames before it are written
            errors.append(exc)
        finally:
            put(q_in, _END)

    def writer() -> None:
        nonlocal done
        try:
            while True:
                item = get(q_out)
                if item is _END:
                    return
                consume(item[0], item[1])
                done += 1
                if on_frame is not None:
                    on_frame()
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    tr = threading.Thread(target=reader, name="vidseg-decode", daemon=True)
    tw = threading.Thread(target=writer, name="vidseg-encode", daemon=True)
    tr.start()
    tw.start()
    try:
        while not stop.is_set():
            f = get(q_in)
            if f is _END:
                break
            r = process(f)
            if not put(q_out, (f, r)):
                break
    except BaseException as exc:
        errors.append(exc)
        stop.set()
    finally:
        if not stop.is_set():
            put(q_out, _END)
        else:
            # unblock the reader if it waits on a full queue
            while True:
                try:
                    q_in.get_nowait()
                except queue.Empty:
                    break
        tw.join()
        stop.set()
        tr.join(timeout=5.0)
    if errors:
        raise errors[0]
    return done
