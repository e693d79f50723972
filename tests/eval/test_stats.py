"""Mean, recall and decay, with the decay bins at N = 5, 8 and 300."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.eval.davis_reference import ref_statistics
from vidseg.eval.stats import decay_bins, statistics


def test_decay_bins_hand_computed() -> None:
    # linspace(1, 5, 5) = 1..5 -> edges 0..4
    assert decay_bins(5) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    # linspace(1, 8, 5) = 1, 2.75, 4.5, 6.25, 8 -> 1, 3, 5 (half up), 6, 8 -> minus 1
    assert decay_bins(8) == [(0, 2), (2, 4), (4, 5), (5, 7)]
    # linspace(1, 300, 5) = 1, 75.75, 150.5, 225.25, 300 -> 1, 76, 151, 225, 300
    assert decay_bins(300) == [(0, 75), (75, 150), (150, 224), (224, 299)]


def test_decay_past_256_frames_is_not_wrapped() -> None:
    v = np.zeros(300)
    v[:76] = 1.0  # the first bin (frames 0..75) is perfect, the last (224..299) is lost
    s = statistics(v)
    assert s.decay == 1.0
    assert s.mean == pytest.approx(76 / 300)
    assert s.recall == pytest.approx(76 / 300)


def test_statistics_hand_computed() -> None:
    s = statistics(np.array([1.0, 1.0, 0.0, 0.0, 0.0]))
    assert (s.mean, s.recall, s.decay) == (pytest.approx(0.4), pytest.approx(0.4), 1.0)
    s = statistics(np.array([0.2, 0.6, 0.6, 0.7, 0.9, 0.9, 1.0, 1.0]))
    # bins (0..2) mean 0.4667, (5..7) mean 0.9667; recall 7/8; 0.5 is not "above 0.5"
    assert s.decay == pytest.approx((0.2 + 0.6 + 0.6) / 3 - (0.9 + 1.0 + 1.0) / 3)
    assert s.recall == pytest.approx(7 / 8)
    assert statistics(np.array([0.5, 0.5, 0.5])).recall == 0.0


def test_nan_ignored_by_mean_and_recall() -> None:
    s = statistics(np.array([1.0, np.nan, 0.0, 1.0, 1.0]))
    assert s.mean == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.75)


def test_empty_is_nan() -> None:
    s = statistics(np.array([]))
    assert math.isnan(s.mean) and math.isnan(s.recall) and math.isnan(s.decay)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 13, 48, 100, 256])
def test_matches_official_below_256(n: int) -> None:
    v = np.random.default_rng(n).random(n)
    assert statistics(v) == pytest.approx(ref_statistics(v), abs=1e-12)
