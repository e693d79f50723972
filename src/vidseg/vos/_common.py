"""Input checks and small array steps that both tracking engines share."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.vos._ops import channel_sum


def check_frame(image: np.ndarray, full_size: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int]]:
    """A contiguous uint8 HxWx3 frame and its ``(h, w)``; it must match ``full_size`` when given."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"frame must be HxWx3 RGB, got shape {image.shape}")
    image = np.ascontiguousarray(image, dtype=np.uint8)
    size = (int(image.shape[0]), int(image.shape[1]))
    if full_size is not None and size != full_size:
        raise InputError(f"frame is {size[1]}x{size[0]} but the video is {full_size[1]}x{full_size[0]}")
    return image, size


def check_mask(mask: np.ndarray, objects: Iterable[int] | None,
               full_size: tuple[int, int]) -> tuple[np.ndarray, list[int]]:
    """A uint8 mask of the frame's size and the ids it gives (``objects``, default all present)."""
    if mask.ndim != 2 or tuple(mask.shape) != full_size:
        h, w = full_size
        raise InputError(f"mask has shape {tuple(mask.shape)} but frames are {w}x{h}")
    if mask.dtype != np.uint8:
        if mask.min() < 0 or mask.max() > 255:
            raise InputError("mask ids must be in 0..255")
        mask = mask.astype(np.uint8)
    present = [int(v) for v in np.unique(mask) if v != 0]
    ids = present if objects is None else sorted({int(o) for o in objects})
    if not ids:
        raise InputError("the mask is empty (no object pixels)")
    for i in ids:
        if not 1 <= i <= 255:
            raise InputError(f"object id {i} is not in 1..255")
        if i not in present:
            raise InputError(f"object id {i} has no pixels in the mask")
    return mask, ids


def with_background(obj: np.ndarray, power: float = 1.0) -> np.ndarray:
    """HxWxK object probabilities -> HxWx(K+1) with background (1 - their clipped sum) first,
    raised to ``power`` (> 1 sharpens) and normalised per pixel."""
    obj = np.clip(obj, 0.0, 1.0)
    bg = np.clip(1.0 - channel_sum(obj), 0.0, 1.0)[..., None]
    p = np.concatenate([bg, obj], axis=2)
    if power != 1.0:
        p = p ** power
    p /= np.maximum(channel_sum(p), 1e-6)[..., None]
    return p.astype(np.float32)


def largest_component(fg: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a boolean mask (the mask itself if it has none)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 1:
        return fg
    return lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


class SteppingTracker:
    """What both engines share: the tracked ids, the last step's probabilities and mask checks.

    Subclasses keep ``_ids`` (object ids in channel order), ``_last_full`` (HxWxK full-resolution
    object probabilities of the last step, or None) and ``_full_size`` (the frames' ``(h, w)``).
    """

    _ids: list[int]
    _last_full: np.ndarray | None
    _full_size: tuple[int, int] | None
    _small_size: tuple[int, int] | None

    def _check_image(self, image: np.ndarray) -> np.ndarray:  # pragma: no cover - each engine's own
        raise NotImplementedError

    def _begin(self, image: np.ndarray, mask: np.ndarray | None, objects: Iterable[int] | None
               ) -> tuple[np.ndarray, np.ndarray | None, list[int], np.ndarray, np.ndarray]:
        """Check a step's inputs; return the frame, the checked mask and the ids it gives, and the
        frame at the working size in grey and Lab."""
        image = self._check_image(image)
        if mask is None and not self._ids:
            raise InputError("the first tracked frame needs a mask giving the objects")
        given: list[int] = []
        if mask is not None:
            mask, given = self._check_mask(mask, objects)
        assert self._small_size is not None
        h, w = self._small_size
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        return (image, mask, given, cv2.cvtColor(small, cv2.COLOR_RGB2GRAY),
                cv2.cvtColor(small, cv2.COLOR_RGB2LAB))

    @property
    def object_ids(self) -> list[int]:
        """Ids of the tracked objects, in the order of the probability channels."""
        return list(self._ids)

    def probabilities(self) -> tuple[list[int], np.ndarray]:
        """The last step's ids and ``(K+1, H, W)`` float32 probabilities (index 0 = background)."""
        if self._last_full is None:
            raise InputError("no frame has been tracked yet")
        p = with_background(self._last_full)
        return list(self._ids), np.ascontiguousarray(p.transpose(2, 0, 1), dtype=np.float32)

    def _check_mask(self, mask: np.ndarray, objects: Iterable[int] | None) -> tuple[np.ndarray, list[int]]:
        assert self._full_size is not None
        return check_mask(mask, objects, self._full_size)
