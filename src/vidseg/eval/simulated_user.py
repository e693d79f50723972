"""The simulated user of interactive segmentation benchmarks (and of the click head's training):
the first click on an object's most interior pixel, each later one on the interior of the
largest error region of the mask so far (positive on a missed part, negative on a wrong one).
"""

from __future__ import annotations

import cv2
import numpy as np

from vidseg.vos.click_head import Click


def interior_point(region: np.ndarray, rng: np.random.Generator | None = None,
                   share: float = 0.5) -> tuple[int, int]:
    """``(x, y)`` of a pixel deep inside ``region`` (bool): the farthest from its edge, or with
    ``rng`` any pixel at least ``share`` of that far."""
    d = cv2.distanceTransform(np.pad(region.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    if rng is None:
        y, x = np.unravel_index(int(np.argmax(d)), d.shape)
        return int(x), int(y)
    ys, xs = np.nonzero(d >= share * d.max())
    k = int(rng.integers(len(xs)))
    return int(xs[k]), int(ys[k])


def correction_click(gt: np.ndarray, pred: np.ndarray, rng: np.random.Generator | None = None,
                     min_area: int = 4) -> Click | None:
    """The click on the interior of the largest error region of ``pred`` against ``gt`` (bools):
    positive on a missed part, negative on a wrong one. With ``rng`` one of the two largest,
    in proportion to their areas. None when no error region has ``min_area`` pixels."""
    regions: list[tuple[int, np.ndarray, bool]] = []
    for err, positive in ((gt & ~pred, True), (pred & ~gt, False)):
        n, comp, stats, _ = cv2.connectedComponentsWithStats(err.astype(np.uint8), connectivity=8)
        for k in range(1, n):
            area = int(stats[k, cv2.CC_STAT_AREA])
            if area >= min_area:
                regions.append((area, comp == k, positive))
    if not regions:
        return None
    regions.sort(key=lambda r: -r[0])
    if rng is None:
        pick = regions[0]
    else:
        top = regions[:2]
        weights = np.array([r[0] for r in top], np.float64)
        pick = top[int(rng.choice(len(top), p=weights / weights.sum()))]
    x, y = interior_point(pick[1], rng)
    return float(x), float(y), pick[2]
