"""The bilateral grid and the frame memory: labels go to pixels near in position AND colour."""

from __future__ import annotations

import numpy as np

from vidseg.vos.classical.grid import LabGrid
from vidseg.vos.classical.memory import FrameMemory, centroids, make_frame
from vidseg.vos.objects import ObjectManager


def _two_colour_frame(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Left half dark, right half bright (Lab); labels: object 1 = the bright half."""
    lab = np.full((h, w, 3), 128, np.uint8)
    lab[:, : w // 2, 0] = 40
    lab[:, w // 2 :, 0] = 220
    prob = np.zeros((h, w, 2), np.float32)
    prob[:, : w // 2, 0] = 1.0
    prob[:, w // 2 :, 1] = 1.0
    return lab, prob


def test_splat_blur_slice_keeps_labels_apart_by_colour():
    lab, prob = _two_colour_frame()
    grid = LabGrid(48, 64, cell=8, levels=(8, 4, 4), ab_step=8)
    values = grid.blur(grid.splat(grid.cells(lab), prob.reshape(-1, 2)))
    assert 0.5 * prob.sum() < values.sum() <= prob.sum() * 1.0001  # only the border loses mass
    # a bright pixel among dark ones next to the bright half reads as the object: the dark
    # pixels around it in space are far from it in colour
    probe = lab.copy()
    probe[20, 28, 0] = 220
    got = grid.slice(values, grid.cells(probe)).reshape(48, 64, 2)
    assert got[20, 28, 1] > 0 and got[20, 28, 0] == 0
    assert got[20, 27, 0] > 0 and got[20, 27, 1] == 0
    assert got[5, 5, 0] > 10 * got[5, 5, 1]
    assert got[5, 60, 1] > 10 * got[5, 60, 0]


def test_smooth_slicer_matches_nearest_slicing_in_cell_centres_and_has_no_blocks():
    lab, prob = _two_colour_frame()
    grid = LabGrid(48, 64, cell=8, levels=(8, 4, 4), ab_step=8)
    values = grid.blur(grid.splat(grid.cells(lab), prob.reshape(-1, 2)))
    smooth = grid.smooth_slicer(48, 64)(values, lab).reshape(48, 64, 2)
    nearest = grid.slice(values, grid.cells(lab)).reshape(48, 64, 2)
    # at the centre of a cell (pixel 3.5 -> between 3 and 4) both agree closely
    np.testing.assert_allclose(smooth[3, 3], nearest[3, 3], rtol=0.2)
    # along a row of one colour the smooth slice changes gradually
    row = smooth[20, 32:, 1]
    assert np.max(np.abs(np.diff(row))) < np.max(np.abs(np.diff(nearest[20, 32:, 1]))) + 1e-6


def test_positions_for_another_size_cover_the_same_cells():
    grid = LabGrid(48, 64, cell=8, levels=(8, 4, 4), ab_step=8)
    pos = grid.positions(96, 128)
    assert pos.shape == (96, 128)
    assert set(np.unique(pos)) == set(np.unique(grid.positions(48, 64)))


def test_memory_moves_objects_to_where_they_are_now():
    h, w = 48, 64
    lab = np.full((h, w, 3), 128, np.uint8)
    prob = np.zeros((h, w, 2), np.float32)
    prob[..., 0] = 1.0
    prob[10:20, 10:20] = (0.0, 1.0)
    lab[10:20, 10:20, 0] = 230
    grid = LabGrid(h, w, cell=4, levels=(8, 4, 4), ab_step=8)
    places = {0: (0.0, 0.0), **centroids(prob, ObjectManager([1]))}
    assert places[1] == (14.5, 14.5)
    mem = FrameMemory(given_size=1, recent_size=2)
    mem.add_given(make_frame(grid, lab, prob, [1], stride=1, places=places))
    values = np.zeros((2, grid.size), np.float32)
    mem.splat(grid, values, ObjectManager([1]), {1: (34.5, 44.5)}, (0.0, 0.0), 1.0, 0.0)
    moved = lab.copy()
    moved[30:40, 40:50, 0] = 230
    got = grid.slice(values, grid.cells(moved)).reshape(h, w, 2)
    assert got[35, 45, 1] > 0 and got[35, 45, 0] == 0
    assert got[15, 15, 1] == 0  # nothing left at the old place
    for _ in range(5):
        mem.add_recent(make_frame(grid, lab, prob, [1], stride=2, places=places))
    assert len(mem) == 3  # bounded: 1 given + 2 recent
