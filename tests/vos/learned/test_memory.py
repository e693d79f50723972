"""FeatureMemory: bounded on long videos, reads the values of the matching positions."""

from __future__ import annotations

import numpy as np

from vidseg.vos.learned.memory import FeatureMemory, MemoryEntry

C, P, V = 8, 20, 4


def entry(rng: np.random.Generator, frame: int, ids=(1,)) -> MemoryEntry:
    return MemoryEntry(rng.standard_normal((C, P)).astype(np.float32),
                       {o: rng.standard_normal((V, P)).astype(np.float32) for o in ids}, frame)


def test_memory_stays_bounded_on_long_videos():
    rng = np.random.default_rng(0)
    mem = FeatureMemory(given=2, work=3, long_term=50, long_term_per_frame=10, top_k=5)
    for f in range(3):
        mem.add_given(entry(rng, f))
    sizes = []
    for f in range(3, 500):
        mem.add_work(entry(rng, f))
        mem.set_last(entry(rng, f))
        mem.read(rng.standard_normal((C, 6)).astype(np.float32), [1])
        sizes.append(len(mem))
    assert max(sizes) <= 2 * P + 3 * P + 50 + P
    assert sizes[-1] == sizes[-100]  # flat
    assert mem.given[0].frame == 0  # the first given frame is never dropped


def test_read_returns_the_value_of_the_matching_position():
    rng = np.random.default_rng(1)
    e = entry(rng, 0, ids=(1, 2))
    e.key *= 10  # well separated keys
    e.key_sq = (e.key ** 2).sum(0)
    mem = FeatureMemory(given=1, work=0, long_term=0, long_term_per_frame=0, top_k=3)
    mem.add_given(e)
    query = e.key[:, [7, 3]]
    out = mem.read(query, [1, 2])
    np.testing.assert_allclose(out[1], e.values[1][:, [7, 3]], atol=1e-4)
    np.testing.assert_allclose(out[2], e.values[2][:, [7, 3]], atol=1e-4)
    assert e.usage[7] > 0.99 and e.usage[3] > 0.99


def test_objects_given_later_read_only_frames_that_hold_them():
    rng = np.random.default_rng(2)
    mem = FeatureMemory(given=4, work=2, long_term=0, long_term_per_frame=0, top_k=0)
    old = entry(rng, 0, ids=(1,))
    new = entry(rng, 5, ids=(1, 2))
    mem.add_given(old)
    mem.add_given(new)
    q = old.key[:, :3] * 5  # matches the old frame, which has no value for object 2
    out = mem.read(q, [1, 2])
    assert set(out) == {1, 2}
    # object 2's read-out is a convex mix of the new frame's values only
    lo, hi = new.values[2].min(1), new.values[2].max(1)
    assert np.all(out[2] >= lo[:, None] - 1e-5) and np.all(out[2] <= hi[:, None] + 1e-5)


def test_a_correction_forgets_predictions_but_not_what_the_user_gave():
    rng = np.random.default_rng(2)
    mem = FeatureMemory(given=3, work=2, long_term=0, long_term_per_frame=0, top_k=0)
    first = entry(rng, 0, ids=(1, 2))
    first.given_ids = frozenset({1})  # object 2 was predicted on the frame where 1 was given
    mem.add_given(first)
    mem.add_work(entry(rng, 5, ids=(1, 2)))
    mem.drop_predicted(1)
    mem.drop_predicted(2)
    assert set(mem.given[0].values) == {1}
    assert mem.work[0].values == {}
    assert mem.given[0].compacted(4).given_ids == frozenset({1})
    mem.forget(1)
    assert mem.given[0].values == {}
