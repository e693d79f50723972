"""The learned engine's bounded feature memory and its read-out (STCN / XMem style).

Entries are frames' keys (C x P positions) with one value map per object present then. Kinds:
the given frames (the first and the newest few, kept whole), a FIFO working memory of recent
frames, the previous frame, and a compact long-term memory: a working entry that leaves the FIFO
keeps only its most-read positions, and the long-term store drops its least-read entries past a
fixed number of positions. Memory and time per frame are therefore flat on any length of video.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class MemoryEntry:
    """One frame (or a compacted part of one) in memory."""

    key: np.ndarray  # (C, P) float32
    values: dict[int, np.ndarray]  # object id -> (V, P) float32
    frame: int
    usage: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    given_ids: frozenset[int] = frozenset()  # the objects whose masks the user gave on this frame

    def __post_init__(self) -> None:
        if self.usage.size != self.key.shape[1]:
            self.usage = np.zeros(self.key.shape[1], np.float32)
        self.key_sq = (self.key * self.key).sum(0)

    @property
    def size(self) -> int:
        return int(self.key.shape[1])

    def compacted(self, keep: int) -> MemoryEntry:
        """The ``keep`` positions read most so far."""
        if keep >= self.size:
            return self
        idx = np.sort(np.argpartition(-self.usage, keep - 1)[:keep])
        return MemoryEntry(np.ascontiguousarray(self.key[:, idx]),
                           {o: np.ascontiguousarray(v[:, idx]) for o, v in self.values.items()},
                           self.frame, self.usage[idx].copy(), self.given_ids)


class FeatureMemory:
    """Bounded memory of keys and per-object values, read with a top-k softmax over L2 similarity."""

    def __init__(self, given: int, work: int, long_term: int, long_term_per_frame: int,
                 top_k: int) -> None:
        self.max_given, self.max_work = given, work
        self.max_long, self.per_frame = long_term, long_term_per_frame
        self.top_k = top_k
        self.given: list[MemoryEntry] = []
        self.work: deque[MemoryEntry] = deque()
        self.long: list[MemoryEntry] = []
        self.last: MemoryEntry | None = None

    def __len__(self) -> int:
        return sum(e.size for e in self.entries())

    def entries(self) -> list[MemoryEntry]:
        out = [*self.given, *self.long, *self.work]
        if self.last is not None:
            out.append(self.last)
        return out

    def add_given(self, entry: MemoryEntry) -> None:
        """A frame the user gave masks on: kept whole (the first and the newest ones)."""
        self.given.append(entry)
        if len(self.given) > self.max_given:
            self._to_long(self.given.pop(1))

    def add_work(self, entry: MemoryEntry) -> None:
        """A recent frame; the oldest one leaves for the long-term store when full."""
        self.work.append(entry)
        while len(self.work) > self.max_work:
            self._to_long(self.work.popleft())

    def set_last(self, entry: MemoryEntry | None) -> None:
        self.last = entry

    def drop_predicted(self, obj: int) -> None:
        """Forget what was predicted of ``obj`` (a correction replaces it); the frames where the
        user gave its mask keep it."""
        for e in self.entries():
            if obj not in e.given_ids:
                e.values.pop(obj, None)

    def forget(self, obj: int) -> None:
        """Forget ``obj`` everywhere, the frames where it was given included."""
        for e in self.entries():
            e.values.pop(obj, None)

    def _to_long(self, entry: MemoryEntry) -> None:
        if self.max_long <= 0 or self.per_frame <= 0:
            return
        self.long.append(entry.compacted(self.per_frame))
        while sum(e.size for e in self.long) > self.max_long:
            worst = min(range(len(self.long)), key=lambda i: float(self.long[i].usage.mean()))
            self.long.pop(worst)

    def read(self, query: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]:
        """Read-out ``(V, Q)`` per object for a query key ``(C, Q)``: every query position's
        softmax-weighted values over the memory positions holding that object."""
        entries = self.entries()
        groups: dict[tuple[int, ...], list[int]] = {}
        for obj in ids:
            have = tuple(i for i, e in enumerate(entries) if obj in e.values)
            groups.setdefault(have, []).append(obj)
        out: dict[int, np.ndarray] = {}
        c = query.shape[0]
        for have, objs in groups.items():
            if not have:
                continue
            chosen = [entries[i] for i in have]
            keys = np.concatenate([e.key for e in chosen], 1)
            sq = np.concatenate([e.key_sq for e in chosen])
            sim = keys.T @ (query * np.float32(2.0 / np.sqrt(c)))  # (M, Q): L2 similarity, up to a
            sim -= (sq * np.float32(1.0 / np.sqrt(c)))[:, None]  # per-query constant
            m = sim.shape[0]
            if 0 < self.top_k < m:
                idx = np.argpartition(-sim, self.top_k - 1, axis=0)[:self.top_k]  # (k, Q)
                top = np.take_along_axis(sim, idx, 0)
                w = np.exp(top - top.max(0, keepdims=True))
                w /= w.sum(0, keepdims=True)
                for obj in objs:
                    vals = np.concatenate([e.values[obj] for e in chosen], 1)  # (V, M)
                    out[obj] = np.einsum("vkq,kq->vq", vals[:, idx], w, optimize=True)
                usage = np.bincount(idx.ravel(), weights=w.ravel(), minlength=m).astype(np.float32)
            else:
                w = sim
                w -= w.max(0, keepdims=True)
                np.exp(w, out=w)
                w *= 1.0 / w.sum(0, keepdims=True)
                for obj in objs:
                    vals = np.concatenate([e.values[obj] for e in chosen], 1)
                    out[obj] = vals @ w
                usage = w.sum(1)
            start = 0
            for e in chosen:
                e.usage += usage[start:start + e.size]
                start += e.size
        return out
