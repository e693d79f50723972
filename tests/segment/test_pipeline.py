"""The threaded decode | infer | encode pipeline: order, completeness, errors from any stage."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from vidseg.segment.pipeline import run_pipeline


def test_results_arrive_in_order_and_stages_run_in_their_own_threads() -> None:
    seen: list[tuple[int, int]] = []
    threads: dict[str, set[str]] = {"decode": set(), "infer": set(), "encode": set()}

    def frames() -> Iterator[int]:
        for i in range(50):
            threads["decode"].add(threading.current_thread().name)
            yield i

    def process(i: int) -> int:
        threads["infer"].add(threading.current_thread().name)
        return i * i

    def consume(i: int, r: int) -> None:
        threads["encode"].add(threading.current_thread().name)
        seen.append((i, r))

    assert run_pipeline(frames(), process, consume, queue_size=2) == 50
    assert seen == [(i, i * i) for i in range(50)]
    assert len(set().union(*threads.values())) == 3


def test_stages_overlap() -> None:
    def frames() -> Iterator[int]:
        for i in range(10):
            time.sleep(0.02)
            yield i

    def slow(i: int) -> int:
        time.sleep(0.02)
        return i

    t0 = time.perf_counter()
    run_pipeline(frames(), slow, lambda i, r: time.sleep(0.02))
    assert time.perf_counter() - t0 < 0.5  # 0.6 s if run one after the other


@pytest.mark.parametrize("stage", ["decode", "infer", "encode"])
def test_an_error_in_any_stage_is_raised_and_nothing_hangs(stage: str) -> None:
    def frames() -> Iterator[int]:
        for i in range(1000):
            if stage == "decode" and i == 5:
                raise ValueError("broken frame")
            yield i

    def process(i: int) -> int:
        if stage == "infer" and i == 5:
            raise ValueError("broken model")
        return i

    done: list[int] = []

    def consume(i: int, r: int) -> None:
        if stage == "encode" and i == 5:
            raise ValueError("disk full")
        done.append(i)

    with pytest.raises(ValueError):
        run_pipeline(frames(), process, consume, queue_size=2)
    assert done[:5] == [0, 1, 2, 3, 4]
    assert len(done) < 1000
