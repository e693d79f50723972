"""The stepping interface every tracking engine implements, and the base class that holds what
they share: the tracked objects, the input checks and the last step's probabilities.

The contract (Cutie's ``step``; :class:`~vidseg.vos.session.TrackingSession`, ``vidseg bench``
and ``vidseg track`` rely on nothing else):

* ``step(image, mask=None, objects=None) -> labels``: track one frame. ``image`` is HxWx3 RGB
  uint8, every frame of one size. ``mask`` (HxW uint8 ids, 0 = background) gives the objects in
  ``objects`` (default: every id present): new ids start being tracked there, known ids are
  corrected (what was predicted of them is replaced; the masks given before stay, as in XMem and
  SAM 2), and on that frame the given pixels are the answer for those ids. The first step
  needs a mask. Returns the HxW uint8 label map (0 = background).
* ``remove_objects(ids)`` (the classical and learned engines): stop tracking ``ids`` and forget
  them; giving one again starts it anew.
* ``object_ids``: the tracked ids, in the order of the probability channels.
* ``probabilities() -> (ids, p)``: the last step's ids and ``(K+1, H, W)`` float32 probabilities,
  channel 0 the background, summing to 1 per pixel.
* ``reset()``: forget every object and frame; the next step needs a mask again.
* ``twin()`` (the engines of :class:`SteppingTracker`): a fresh tracker with the same settings
  that steps through the same frames right after this one (a correction followed side by side
  with the mask before it); the learned engine's twin shares its loaded graphs and each frame's
  backbone run.

Bad input raises :class:`~vidseg.errors.InputError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from vidseg.errors import InputError
from vidseg.vos._ops import with_background
from vidseg.vos.objects import ObjectManager


class Tracker(Protocol):
    """The stepping interface (see the module's docstring for the contract)."""

    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray: ...

    @property
    def object_ids(self) -> list[int]: ...

    def probabilities(self) -> tuple[list[int], np.ndarray]: ...

    def reset(self) -> None: ...


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


class SteppingTracker(ABC):
    """Base of the engines: implements the contract's bookkeeping; an engine adds ``step``.

    ``objects`` (:class:`ObjectManager`) is the one owner of the tracked ids and their channels.
    An engine's ``step`` starts with :meth:`_check_step`, adds the ids it returns as new to
    ``objects``, and sets ``_last_full`` (HxWxK full-resolution object probabilities, channels
    in ``objects`` order) for :meth:`probabilities` (or overrides it). An engine with more state
    extends :meth:`reset` (calling this one) and may size its buffers in :meth:`_start`.
    """

    def __init__(self) -> None:
        self.objects = ObjectManager()
        self._full_size: tuple[int, int] | None = None  # the frames' (h, w)
        self._last_full: np.ndarray | None = None

    @abstractmethod
    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray:
        """Track one frame; ``mask`` adds or corrects the objects it gives. Returns HxW uint8 labels."""

    @abstractmethod
    def twin(self) -> SteppingTracker:
        """A fresh tracker with this one's settings, stepping through the same frames right after it."""

    def reset(self) -> None:
        """Forget every object and frame: the next step needs a mask again."""
        self.objects.clear()
        self._full_size = None
        self._last_full = None

    @property
    def object_ids(self) -> list[int]:
        """Ids of the tracked objects, in the order of the probability channels."""
        return self.objects.ids

    def probabilities(self) -> tuple[list[int], np.ndarray]:
        """The last step's ids and ``(K+1, H, W)`` float32 probabilities (index 0 = background)."""
        if self._last_full is None:
            raise InputError("no frame has been tracked yet")
        p = with_background(self._last_full)
        return self.objects.ids, np.ascontiguousarray(p.transpose(2, 0, 1), dtype=np.float32)

    def _start(self, size: tuple[int, int]) -> None:  # noqa: B027 - optional hook
        """Called once with the first frame's ``(h, w)``: size the engine's buffers."""

    def _check_step(self, image: np.ndarray, mask: np.ndarray | None, objects: Iterable[int] | None
                    ) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
        """Check a step's inputs: the contiguous frame, the uint8 mask (or None) and the ids it
        gives (none without a mask)."""
        image, size = check_frame(image, self._full_size)
        if self._full_size is None:
            self._full_size = size
            self._start(size)
        if mask is None and not self.objects:
            raise InputError("the first tracked frame needs a mask giving the objects")
        if mask is None:
            return image, None, []
        mask, given = check_mask(mask, objects, size)
        return image, mask, given
