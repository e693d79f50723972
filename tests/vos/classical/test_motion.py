"""Camera motion, background memory, hole filling and where lost objects may come back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vidseg.synthetic import Scene, Shape
from vidseg.vos.classical import CLASSICAL_PRESETS, ClassicalConfig, ClassicalTracker
from vidseg.vos.classical.grid import LabGrid
from vidseg.vos.classical.memory import FrameMemory, make_frame
from vidseg.vos.classical.tracker import _camera_step
from vidseg.vos.objects import ObjectManager

H, W = 60, 80


def test_camera_step_fits_the_background_flow_not_the_object():
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float32)
    a = np.array([[0.98, -0.03, 3.0], [0.03, 0.98, -2.0]])  # current -> previous pixels
    flow = np.stack([a[0, 0] * gx + a[0, 1] * gy + a[0, 2] - gx,
                     a[1, 0] * gx + a[1, 1] * gy + a[1, 2] - gy], axis=2).astype(np.float32)
    obj = np.zeros((H, W), bool)
    obj[10:30, 10:30] = True
    flow[obj] = (-9.0, 7.0)  # the object moves on its own
    background = ~obj
    background[40:44, 50:54] = False
    flow[35:39, 60:64] = (20.0, 20.0)  # a few wrong vectors on the background: RANSAC drops them
    for model in ("affine", "homography"):
        m = _camera_step(flow, background, model, step=2)
        assert np.allclose(m[:2], a, atol=0.05), model
    m = _camera_step(flow, np.zeros((H, W), bool), "affine")
    assert np.array_equal(m, np.eye(3))  # nothing to fit: no motion


def test_memory_background_follows_the_camera():
    lab = np.full((H, W, 3), 128, np.uint8)
    lab[:, 20:24, 0] = 240  # a bright background stripe
    prob = np.zeros((H, W, 2), np.float32)
    prob[..., 0] = 1.0
    prob[40:50, 60:70] = (0.0, 1.0)
    grid = LabGrid(H, W, cell=4, levels=(8, 4, 4), ab_step=8)
    mem = FrameMemory(1, 0)
    mem.add_given(make_frame(grid, lab, prob, [1], stride=1, places={0: (0.0, 0.0)}, camera=np.eye(3)))
    now = np.eye(3)
    now[0, 2] = -32.0  # the camera moved: current x = first-frame x + 32
    moved = np.full((H, W, 3), 128, np.uint8)
    moved[:, 52:56, 0] = 240
    got = {}
    for share in (1.0, 0.5):
        values = np.zeros((2, grid.size), np.float32)
        mem.splat(grid, values, ObjectManager([1]), {}, (0.0, 0.0), 1.0, 0.0, True, now, share)
        got[share] = (grid.slice(values, grid.cells(moved)).reshape(H, W, 2)[30, 53, 0],
                      grid.slice(values, grid.cells(lab)).reshape(H, W, 2)[30, 22, 0])
    assert got[1.0][0] > 0 and got[1.0][1] == 0  # the stripe is where the camera put it
    np.testing.assert_allclose(got[0.5], (0.5 * got[1.0][0], 0.5 * got[1.0][0]), rtol=1e-5)


def test_small_holes_are_filled_large_ones_kept():
    tracker = ClassicalTracker(replace(CLASSICAL_PRESETS["default"], hole_fraction=0.05))
    post = np.zeros((H, W, 2), np.float32)
    post[10:50, 10:70, 1] = 1.0
    post[20:23, 20:23, 1] = 0.0  # 9 px hole (< 5% of the object)
    post[30:45, 40:65, 1] = 0.0  # 375 px hole: background seen through the object
    post[..., 0] = 1.0 - post[..., 1]
    tracker._fill_holes(post)
    assert (post[20:23, 20:23, 1] > 0.5).all()
    assert (post[30:45, 40:65, 1] < 0.5).all()
    np.testing.assert_allclose(post.sum(axis=2), 1.0, atol=1e-6)


def decoy_scene(n: int) -> Scene:
    """A red object goes behind a grey wall and stays there; a red decoy enters far away."""
    return Scene(width=192, height=144, n_frames=n, seed=5, shapes=[
        Shape(1, "ellipse", (210, 60, 40), (14, 12), [(40, 100), (100, 100), (100, 100), (100, 100)]),
        Shape(0, "rect", (90, 90, 90), (26, 40), [(100, 100)], occluder=True),
        Shape(0, "ellipse", (210, 60, 40), (14, 12), [(260, 25), (260, 25), (160, 25), (150, 25)],
              occluder=True),
    ])


def count_decoy(cfg: ClassicalConfig, n: int = 30) -> int:
    sc = decoy_scene(n)
    tracker = ClassicalTracker(cfg)
    labels = [tracker.step(sc.render(t)[0], sc.render(0)[1] if t == 0 else None) for t in range(n)]
    return max(int((lab[:60] == 1).sum()) for lab in labels)


def test_lost_object_is_not_found_far_from_where_it_was_lost():
    near = CLASSICAL_PRESETS["default"]
    assert near.reacquire_radius > 0
    assert count_decoy(replace(near, reacquire_radius=0.0)) > 100  # anywhere: it jumps to the decoy
    assert count_decoy(near) == 0
