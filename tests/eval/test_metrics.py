"""J, seg2bmap, the disk and F on hand-computed tiny cases, and properties against the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.eval.davis_reference import ref_disk, ref_f_measure, ref_iou, ref_seg2bmap
from vidseg.eval.metrics import boundary_radius, disk, f_measure, jaccard, seg2bmap


def m(rows: list[str]) -> np.ndarray:
    return np.array([[c == "#" for c in r] for r in rows])


def test_jaccard_hand_cases() -> None:
    g = m(["##..", "##..", "....", "...."])
    p = m([".##.", ".##.", "....", "...."])
    assert jaccard(g, p) == pytest.approx(2 / 6)
    empty = np.zeros((4, 4), bool)
    assert jaccard(empty, empty) == 1.0
    assert jaccard(g, empty) == 0.0
    assert jaccard(empty, g) == 0.0
    void = m(["..#.", "..#.", "....", "...."])  # the pred-only column is void
    assert jaccard(g, p, void) == pytest.approx(2 / 4)


def test_seg2bmap_single_pixel() -> None:
    seg = m(["...", ".#.", "..."])
    assert np.array_equal(seg2bmap(seg), m(["##.", "##.", "..."]))


def test_seg2bmap_edges_and_bottom_right() -> None:
    # last row compares east only, last column south only, bottom-right never
    seg = m(["...", "...", "..#"])
    assert np.array_equal(seg2bmap(seg), m(["...", ".##", ".#."]))
    assert not seg2bmap(np.ones((5, 7), bool)).any()
    assert not seg2bmap(np.zeros((5, 7), bool)).any()


def test_disk_matches_definition() -> None:
    assert np.array_equal(disk(1), np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8))
    assert int(disk(2).sum()) == 13
    for r in range(0, 10):
        assert np.array_equal(disk(r).astype(bool), ref_disk(r))


def test_boundary_radius() -> None:
    assert boundary_radius((480, 854)) == 8
    assert boundary_radius((5, 8)) == 1
    assert boundary_radius((480, 854), 3) == 3


def test_f_empty_masks_both_ways() -> None:
    empty = np.zeros((6, 6), bool)
    blob = m(["......", ".##...", ".##...", "......", "......", "......"])
    assert f_measure(empty, empty) == 1.0
    assert f_measure(blob, empty) == 0.0
    assert f_measure(empty, blob) == 0.0
    assert f_measure(blob, blob) == 1.0


def test_f_boundary_tolerance() -> None:
    # 5x8 image: r = ceil(0.008 * 9.43) = 1; the disk of radius 1 is a plus (no diagonals)
    gt = np.zeros((5, 8), bool)
    gt[:, :3] = True  # boundary: column 2, 5 pixels
    one_off = np.zeros_like(gt)
    one_off[:, :4] = True  # boundary column 3: within 1 px
    two_off = np.zeros_like(gt)
    two_off[:, :5] = True  # boundary column 4: 2 px away
    assert f_measure(gt, one_off) == 1.0
    assert f_measure(gt, two_off) == 0.0
    mixed = np.zeros_like(gt)
    mixed[:3, :3] = True
    mixed[3:, :5] = True
    # pred boundary: (0,2) (1,2) (2,2) (2,3) (2,4) (3,4) (4,4); 4 of 7 near the GT's column 2;
    # GT boundary (r,2): all but (4,2) lie within the plus of a pred boundary pixel -> 4 of 5
    p, r = 4 / 7, 4 / 5
    assert f_measure(gt, mixed) == pytest.approx(2 * p * r / (p + r))
    assert f_measure(gt, mixed) == pytest.approx(2 / 3)


def test_f_void_excluded() -> None:
    gt = np.zeros((5, 8), bool)
    gt[:, :3] = True
    pred = gt.copy()
    pred[:, 5:] = True  # a spurious block, all void
    void = np.zeros_like(gt)
    void[:, 4:] = True
    assert f_measure(gt, pred) < 1.0
    assert f_measure(gt, pred, void) == 1.0


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        jaccard(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError):
        f_measure(np.zeros((2, 2)), np.zeros((3, 2)))


masks = st.integers(3, 24).flatmap(
    lambda h: st.integers(3, 24).flatmap(
        lambda w: st.tuples(arrays(np.bool_, (h, w)), arrays(np.bool_, (h, w)),
                            st.sampled_from([0.008, 1, 2, 3]))))


@settings(max_examples=120, deadline=None)
@given(masks)
def test_properties_and_oracle(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    a, b, th = case
    assert jaccard(a, a) == 1.0
    assert f_measure(a, a, bound_th=th) == 1.0
    assert jaccard(a, b) == jaccard(b, a)
    assert f_measure(a, b, bound_th=th) == pytest.approx(f_measure(b, a, bound_th=th), abs=1e-12)
    assert np.array_equal(seg2bmap(a), ref_seg2bmap(a))
    assert jaccard(a, b) == pytest.approx(ref_iou(a, b), abs=1e-12)
    # official argument order: f_measure(foreground=result, gt)
    assert f_measure(a, b, bound_th=th) == pytest.approx(ref_f_measure(b, a, bound_th=th), abs=1e-12)


def test_oracle_on_blobs() -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:120, :200]
    for _ in range(20):
        cx, cy, rx, ry = rng.uniform(20, 180), rng.uniform(20, 100), rng.uniform(5, 60), rng.uniform(5, 40)
        g = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        p = np.roll(g, (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))), (0, 1))
        p ^= rng.random(p.shape) < 0.002
        assert f_measure(g, p) == pytest.approx(ref_f_measure(p, g), abs=1e-12)
        assert jaccard(g, p) == pytest.approx(ref_iou(g, p), abs=1e-12)
