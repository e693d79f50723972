"""Per-object statistics over frames: mean, recall and decay, as DAVIS defines them."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

N_BINS = 4  # decay compares the first and the last of four bins


class Statistics(NamedTuple):
    """Mean, recall (share of frames above 0.5) and decay (first quarter minus last quarter)."""

    mean: float
    recall: float
    decay: float


def decay_bins(n: int) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` frame indices of the four decay bins of ``n`` frames.

    The edges are ``round(linspace(1, n, 5)) - 1`` with halves rounded up. Unlike the official
    code, which stores them as uint8 and so wraps past 256 frames, they are kept as plain ints.
    """
    if n <= 0:
        return [(0, -1)] * N_BINS
    edges = (np.round(np.linspace(1, n, N_BINS + 1) + 1e-10) - 1).astype(np.int64)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(N_BINS)]


def statistics(values: np.ndarray) -> Statistics:
    """Mean, recall and decay of per-frame ``values``; NaN frames are ignored by mean and recall.

    With no (non-NaN) values the figures are NaN.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    valid = v[~np.isnan(v)]
    mean = float(valid.mean()) if valid.size else float("nan")
    recall = float((valid > 0.5).mean()) if valid.size else float("nan")
    bins = [v[a : b + 1] for a, b in decay_bins(v.size)]
    decay = _nanmean(bins[0]) - _nanmean(bins[-1])
    return Statistics(mean, recall, decay)


def _nanmean(a: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return float(np.nanmean(a)) if a.size else float("nan")
