"""prefetch: order kept, errors re-raised after the items before them, early stop does not hang."""

from __future__ import annotations

import threading
import time

import pytest

from vidseg.io.prefetch import prefetch


def test_order_and_exhaustion():
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_error_after_items():
    def gen():
        yield 1
        yield 2
        raise ValueError("broken at 2")

    got = []
    with pytest.raises(ValueError, match="broken at 2"):
        for x in prefetch(gen(), depth=2):
            got.append(x)
    assert got == [1, 2]


def test_stays_bounded_and_stops_early():
    produced = []

    def gen():
        for i in range(1000):
            produced.append(i)
            yield i

    it = prefetch(gen(), depth=2)
    assert next(it) == 0
    time.sleep(0.2)
    assert len(produced) <= 4  # at most depth ahead (+ the one being handed over)
    it.close()
    time.sleep(0.3)
    assert not any(t.name == "vidseg-prefetch" and t.is_alive() for t in threading.enumerate())
