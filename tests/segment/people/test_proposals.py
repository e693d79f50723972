"""Blobs of the selfie segmenter's residual: what the followed people do not cover."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.segment.people.proposals import HEIGHT, WIDTH, person_probability, residual_blobs


def _prob(*boxes: tuple[int, int, int, int], shape: tuple[int, int] = (60, 80)) -> np.ndarray:
    p = np.zeros(shape, np.float32)
    for x0, y0, x1, y1 in boxes:
        p[y0:y1, x0:x1] = 0.9
    return p


@pytest.mark.parametrize(("covered_box", "gap", "min_area", "areas"), [
    (None, 0, 1, [400, 100]),  # two blobs, largest first
    ((0, 0, 30, 60), 0, 1, [200, 100]),  # the big one half covered
    ((0, 0, 30, 60), 2, 1, [180, 100]),  # ... and its rim (2 px) too
    (None, 0, 150, [400]),  # small blobs dropped
    ((0, 0, 80, 60), 0, 1, []),  # everything covered
])
def test_residual_blobs(covered_box: tuple[int, int, int, int] | None, gap: int, min_area: int,
                        areas: list[int]) -> None:
    prob = _prob((10, 10, 50, 20), (60, 40, 70, 50))
    covered = np.zeros(prob.shape, bool)
    if covered_box is not None:
        x0, y0, x1, y1 = covered_box
        covered[y0:y1, x0:x1] = True
    blobs = residual_blobs(prob, covered, min_area=min_area, gap=gap)
    assert [b.area for b in blobs] == areas
    for b in blobs:
        x0, y0, x1, y1 = b.box
        assert int(b.mask.sum()) == b.area and b.mask[y0:y1, x0:x1].sum() == b.area
        assert not np.any(b.mask & covered)


class HalfProposer:
    """Person probability 1 on the left half of whatever it sees."""

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        assert x.shape == (1, HEIGHT, WIDTH, 3) and x.dtype == np.float32 and float(x.max()) <= 1.0
        out = np.zeros((1, HEIGHT, WIDTH, 1), np.float32)
        out[:, :, :WIDTH // 2] = 1.0
        return [out]


def test_person_probability_is_resized_to_the_working_size() -> None:
    img = np.full((120, 200, 3), 200, np.uint8)
    p = person_probability(HalfProposer(), img, (100, 60))
    assert p.shape == (60, 100) and p.dtype == np.float32
    assert p[:, :45].min() > 0.99 and p[:, 55:].max() < 0.01
