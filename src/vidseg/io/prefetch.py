"""Run an iterator in a background thread, a few items ahead of its consumer.

Decoding (PyAV and OpenCV release the GIL) then overlaps with the consumer's work, e.g.
drawing and encoding. The queue is bounded, so memory stays flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Yield ``items`` as produced by a daemon thread that stays at most ``depth`` ahead.
    Exceptions raised by ``items`` are re-raised here, after the items before them."""
    q: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(obj: object) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(_Raised(exc))
            return
        put(_END)

    t = threading.Thread(target=work, name="vidseg-prefetch", daemon=True)
    t.start()
    try:
        while True:
            obj = q.get()
            if obj is _END:
                return
            if isinstance(obj, _Raised):
                raise obj.exc
            yield obj  # type: ignore[misc]
    finally:
        stop.set()
        t.join(timeout=5.0)
