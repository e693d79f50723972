"""The first pass's choices on hand-made probability maps (no model): key frames, salient parts,
the frame chosen to start from, and 'nothing stands out'."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.vos.auto.discover import (
    MIN_CONFIDENCE,
    choose_key_frame,
    frame_confidence,
    key_frame_indices,
    objects_on,
    salient_parts,
)


def blob_map(h=60, w=80, boxes=(), value=0.9, floor=0.05):
    p = np.full((h, w), floor, np.float32)
    for y0, x0, y1, x1 in boxes:
        p[y0:y1, x0:x1] = value
    return p


@pytest.mark.parametrize(("n", "every", "most", "expected"), [
    (0, 10, 40, []),
    (1, 10, 40, [0]),
    (27, 10, 40, [0, 10, 20, 26]),
    (24, 10, 40, [0, 10, 20]),
    (21, 10, 40, [0, 10, 20]),
    (1000, 10, 40, list(range(0, 1000, 25)) + [999]),
])
def test_key_frames(n, every, most, expected):
    assert key_frame_indices(n, every, most) == expected


def test_parts_are_ranked_by_salience_and_tiny_ones_dropped():
    p = blob_map(boxes=[(5, 5, 15, 15), (30, 30, 55, 70), (0, 78, 1, 80)])
    parts = salient_parts(p)
    assert len(parts) == 2
    assert parts[0][0][40, 50] and parts[1][0][10, 10]


def test_one_object_joins_its_parts_but_n_objects_split_them():
    p = blob_map(boxes=[(5, 5, 15, 15), (30, 30, 55, 70)])
    one = objects_on(p, 1)
    assert set(np.unique(one)) == {0, 1} and one[10, 10] == one[40, 50] == 1
    two = objects_on(p, 2)
    assert two[40, 50] == 1 and two[10, 10] == 2  # ids by salience: the larger part first


def test_an_empty_map_has_no_confidence_and_no_start_frame():
    maps = {t: blob_map() for t in (0, 10, 20)}
    assert frame_confidence(maps[0]) == 0.0
    conf, best = choose_key_frame(maps)
    assert best is None and max(conf.values()) < MIN_CONFIDENCE


def test_the_start_frame_is_a_typical_confident_one():
    maps = {0: blob_map(boxes=[(20, 20, 40, 40)], value=0.8),
            10: blob_map(boxes=[(20, 20, 40, 42)], value=0.95),
            20: blob_map(boxes=[(0, 0, 60, 70)], value=0.99),  # whole frame lit: atypical area
            30: blob_map(boxes=[(22, 22, 40, 40)], value=0.7)}
    conf, best = choose_key_frame(maps)
    assert best == 10
    assert conf[10] > conf[0] > conf[30]


def test_a_salient_region_that_never_moves_unlike_the_rest_is_no_object():
    maps = {t: blob_map(boxes=[(20, 20, 40, 40)]) for t in (0, 10)}
    still = {t: np.zeros((30, 40), np.float32) for t in maps}
    assert choose_key_frame(maps, still)[1] is None
    moving = {0: still[0], 10: blob_map(30, 40, boxes=[(10, 10, 20, 20)], value=0.8, floor=0.0)}
    assert choose_key_frame(maps, moving)[1] in (0, 10)


def test_with_n_objects_a_frame_showing_more_of_them_is_chosen():
    maps = {0: blob_map(boxes=[(20, 20, 40, 40)], value=0.99),
            10: blob_map(boxes=[(20, 20, 40, 40), (45, 60, 58, 78)], value=0.8)}
    assert choose_key_frame(maps, n_objects=1)[1] == 0
    assert choose_key_frame(maps, n_objects=2)[1] == 10


def test_a_region_covering_most_of_the_frame_is_texture_not_an_object():
    assert frame_confidence(blob_map(boxes=[(0, 0, 60, 75)])) == 0.0
