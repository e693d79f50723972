"""Training examples for the click head, drawn from the engine's cached feature banks: an object
on a frame, its mask before the click (nothing, for a first click; or a corrupted version of its
true mask, as propagation leaves it: shifted, eroded or grown, cut, a part missing, a neighbour
or another frame's mask) and the click a user would make there (on the object's interior, or on
the interior of the mask's largest error: positive on a missed part, negative on a wrong one).
"""

from __future__ import annotations

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.eval.simulated_user import correction_click, interior_point
from vidseg.train.engine_data import FeatureBank
from vidseg.vos.click_head import Click, input_maps


def _shifted(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    size = max(4.0, float(np.sqrt(len(xs))))
    m = np.asarray(cv2.getRotationMatrix2D((float(xs.mean()), float(ys.mean())), rng.uniform(-10, 10),
                                           rng.uniform(0.85, 1.15)), np.float64)
    m[:, 2] = m[:, 2] + rng.uniform(-0.2, 0.2, 2) * size
    return cv2.warpAffine(mask.astype(np.uint8), m, (w, h), flags=cv2.INTER_NEAREST) > 0


def _morphed(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = int(rng.integers(3, 16)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    op = cv2.erode if rng.random() < 0.5 else cv2.dilate
    return op(mask.astype(np.uint8), kernel) > 0


def _cut(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The mask on one side of a random line through it (a limb or a half missing)."""
    ys, xs = np.nonzero(mask)
    k = int(rng.integers(len(xs)))
    angle = rng.uniform(0, 2 * np.pi)
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w]
    side = (xx - xs[k]) * np.cos(angle) + (yy - ys[k]) * np.sin(angle) > 0
    return mask & side


def _blob(mask: np.ndarray, rng: np.random.Generator, inside: bool) -> np.ndarray:
    """An ellipse the size of a part of the object, centred on it (inside) or next to it."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    size = float(np.sqrt(len(xs)))
    if inside:
        k = int(rng.integers(len(xs)))
        cx, cy = int(xs[k]), int(ys[k])
    else:
        cx = int(np.clip(xs.mean() + rng.uniform(-1, 1) * size, 0, w - 1))
        cy = int(np.clip(ys.mean() + rng.uniform(-1, 1) * size, 0, h - 1))
    axes = (max(2, int(size * rng.uniform(0.15, 0.5))), max(2, int(size * rng.uniform(0.15, 0.5))))
    out = np.zeros((h, w), np.uint8)
    cv2.ellipse(out, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return out > 0


def corrupted(gt: np.ndarray, rng: np.random.Generator, others: np.ndarray | None = None,
              elsewhere: np.ndarray | None = None) -> np.ndarray:
    """A wrong version of mask ``gt`` (bool) as a tracker leaves it, as float 0..1: one or two of
    shifted, eroded / grown, cut, a part missing, a blob added, a neighbour (``others``: every
    other object's pixels) taken in, or the object's mask on another frame (``elsewhere``);
    softened half the time (propagated masks are probabilities)."""
    out = gt.copy()
    for _ in range(1 + int(rng.random() < 0.4)):
        if not out.any():
            out = gt.copy()
        op = int(rng.integers(7))
        if op == 0:
            out = _shifted(out, rng)
        elif op == 1:
            out = _morphed(out, rng)
        elif op == 2:
            out = _cut(out, rng)
        elif op == 3:
            out = out & ~_blob(out, rng, inside=True)
        elif op == 4:
            out = out | _blob(out, rng, inside=False)
        elif op == 5 and others is not None and others.any():
            out = out | others
        elif elsewhere is not None and elsewhere.any():
            out = elsewhere.copy()
        else:
            out = _shifted(out, rng)
    soft = out.astype(np.float32)
    if rng.random() < 0.5:
        sigma = float(rng.uniform(1.0, 4.0))
        soft = np.clip(cv2.GaussianBlur(soft, (0, 0), sigma), 0.0, 1.0)
    return soft


class ClickSampler:
    """Batches of click examples from a :class:`FeatureBank`: a fixed share of COCO frames (many
    kinds of object), the rest video frames; a share of first clicks, the rest corrections."""

    def __init__(self, bank: FeatureBank, rng: np.random.Generator, coco_fraction: float = 0.5,
                 first_share: float = 0.35, min_area: float = 0.003) -> None:
        self.bank, self.rng = bank, rng
        self.first_share = first_share
        self.min_pixels = min_area * bank.labels.shape[1] * bank.labels.shape[2]
        video = [(a, b) for n, a, b in bank.ranges if not n.startswith("coco-")]
        coco = [(a, b) for n, a, b in bank.ranges if n.startswith("coco-")]
        self.pools = [p for p in (video, coco) if p]
        if not self.pools:
            raise InputError("no frames to train the click head on")
        self.coco_fraction = coco_fraction if len(self.pools) == 2 else 0.0

    def draw(self) -> tuple[int, int, tuple[int, int]]:
        """``(row, object id, clip rows)`` of an object big enough to click on."""
        for _ in range(200):
            pool = self.pools[-1] if self.rng.random() < self.coco_fraction else self.pools[0]
            a, b = pool[int(self.rng.integers(len(pool)))]
            row = int(self.rng.integers(a, b))
            ids, counts = np.unique(self.bank.labels[row], return_counts=True)
            ok = [int(i) for i, c in zip(ids, counts, strict=True) if i and c >= self.min_pixels]
            if ok:
                return row, ok[int(self.rng.integers(len(ok)))], (a, b)
        raise InputError("could not find an object big enough to click on")

    def example(self) -> tuple[int, np.ndarray, np.ndarray | None, list[Click]]:
        """``(row, true mask, mask before the click or None, clicks)`` (frame pixels)."""
        row, obj, (a, b) = self.draw()
        lab = self.bank.labels[row]
        gt = lab == obj
        if self.rng.random() >= self.first_share:
            near = int(np.clip(row + self.rng.integers(-10, 11), a, b - 1))
            prev = corrupted(gt, self.rng, others=(lab != obj) & (lab != 0),
                             elsewhere=self.bank.labels[near] == obj)
            click = correction_click(gt, prev > 0.5, self.rng)
            if click is not None:
                clicks = [click]
                if self.rng.random() < 0.3:  # an earlier click the mask already follows
                    x, y = interior_point(gt, self.rng)
                    clicks.insert(0, (float(x), float(y), True))
                return row, gt, prev, clicks
        return self.first(row, gt)

    def first(self, row: int | None = None, gt: np.ndarray | None = None
              ) -> tuple[int, np.ndarray, np.ndarray | None, list[Click]]:
        """A first click on an object (a drawn one unless ``row`` and its mask ``gt`` are given)."""
        if row is None or gt is None:
            row, obj, _ = self.draw()
            gt = self.bank.labels[row] == obj
        x, y = interior_point(gt, self.rng)
        return row, gt, None, [(float(x), float(y), True)]

    def batch(self, size: int) -> dict[str, np.ndarray]:
        """Features (B, C, h, w) float32, ``maps4`` (B, 3, h4, w4), ``target`` (B, 1, H, W)."""
        examples = [self.example() for _ in range(size)]
        return assemble(self.bank, examples)


def assemble(bank: FeatureBank, examples: list[tuple[int, np.ndarray, np.ndarray | None, list[Click]]]
             ) -> dict[str, np.ndarray]:
    """The head's inputs and targets for ``(row, true mask, mask before, clicks)`` examples."""
    rows = np.array([e[0] for e in examples])
    out = {n: np.asarray(getattr(bank, n)[rows], np.float32) for n in ("f4", "f8", "f16")}
    size4 = out["f4"].shape[2:]
    frame = bank.labels.shape[1:]
    out["maps4"] = np.stack([input_maps(size4, frame, clicks, prev) for _, _, prev, clicks in examples])
    out["target"] = np.stack([gt for _, gt, _, _ in examples]).astype(np.float32)[:, None]
    return out
