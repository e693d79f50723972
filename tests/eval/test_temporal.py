"""Flicker (hand-computed) and the flow-warped temporal consistency."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.eval.eval_helpers import write_seq
from vidseg.errors import InputError
from vidseg.eval.temporal import (
    consistency_of_folder,
    flicker,
    frames_for_sequence,
    temporal_consistency,
    warp_labels,
)


def test_flicker_hand_computed() -> None:
    g = np.zeros((6, 6), bool)
    g[1:5, 1:5] = True  # area 16, static
    p_on = g.copy()
    p_off = g.copy()
    p_off[1:3, 1:3] = False  # 4 pixels blink
    assert flicker([g, g, g], [p_on, p_on, p_on]) == 0.0
    # transitions: on->off (4 px), off->on (4 px); mean 4 / mean area 16
    assert flicker([g, g, g], [p_on, p_off, p_on]) == pytest.approx(4 / 16)
    # where the ground truth changes too, a change is not flicker
    g2 = g.copy()
    g2[1:3, 1:3] = False
    assert flicker([g, g2], [p_on, p_off]) == 0.0
    assert math.isnan(flicker([g], [g]))
    assert math.isnan(flicker([np.zeros_like(g)] * 2, [g, g]))


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 4, w // 4, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_warp_labels_with_a_known_flow() -> None:
    lab = np.zeros((10, 12), np.uint8)
    lab[2:5, 3:6] = 1
    flow = np.zeros((10, 12, 2), np.float32)
    flow[..., 0] = -2.0  # every pixel came from 2 px to its left
    out = warp_labels(lab, flow)
    assert np.array_equal(out[:, 2:], lab[:, :-2])
    assert not out[:, :2].any()


def test_consistency_follows_motion() -> None:
    h, w = 96, 128
    big = _texture(h, w + 40)
    frames = [np.ascontiguousarray(big[:, 20 - 2 * t : 20 - 2 * t + w]) for t in range(5)]
    lab0 = np.zeros((h, w), np.uint8)
    lab0[30:60, 40:80] = 1
    moving = [np.roll(lab0, 2 * t, 1) for t in range(5)]  # moves with the content
    still = [lab0] * 5
    c_moving = temporal_consistency(zip(frames, moving, strict=True))
    c_still = temporal_consistency(zip(frames, still, strict=True))
    assert c_moving[1].shape == (4,)
    assert c_moving[1].mean() > 0.9
    assert c_still[1].mean() < c_moving[1].mean()
    jumpy = [np.roll(lab0, 25 * (t % 2), 1) for t in range(5)]
    assert temporal_consistency(zip(frames, jumpy, strict=True))[1].mean() < 0.5
    # a frame without a mask breaks the chain
    gaps = temporal_consistency(zip(frames, [lab0, None, lab0, lab0, None], strict=True))
    assert gaps[1].shape == (1,)


def test_consistency_of_folder(tmp_path: Path) -> None:
    h, w = 48, 64
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    lab = np.zeros((h, w), np.uint8)
    lab[10:30, 10:40] = 2
    img = _texture(h, w)
    for t in range(3):
        Image.fromarray(img).save(frames_dir / f"{t:05d}.png")
    write_seq(tmp_path / "pred", [lab] * 3)
    out = consistency_of_folder(frames_dir, tmp_path / "pred")
    assert list(out) == [2] and out[2] > 0.95
    write_seq(tmp_path / "other", [lab] * 2, stems=["a", "b"])
    with pytest.raises(InputError, match="no mask matches"):
        consistency_of_folder(frames_dir, tmp_path / "other")
    write_seq(tmp_path / "small", [lab[:, :-1]], stems=["00001"])
    with pytest.raises(InputError, match="differs from the frame"):
        consistency_of_folder(frames_dir, tmp_path / "small")


def test_frames_for_sequence(tmp_path: Path) -> None:
    (tmp_path / "JPEGImages" / "480p" / "a").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    assert frames_for_sequence(tmp_path, "a", single=False) == tmp_path / "JPEGImages" / "480p" / "a"
    assert frames_for_sequence(tmp_path, "b", single=False) == tmp_path / "b"
    assert frames_for_sequence(tmp_path, "c", single=True) == tmp_path
    with pytest.raises(InputError, match="no frames for sequence 'c'"):
        frames_for_sequence(tmp_path, "c", single=False)
    with pytest.raises(InputError, match="not found"):
        frames_for_sequence(tmp_path / "nope", "c", single=True)
