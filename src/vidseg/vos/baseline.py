"""The floor every tracker must beat: each given mask, repeated until the next one."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vidseg.vos.stepping import SteppingTracker


class CopyTracker(SteppingTracker):
    """Returns the last given labels on every frame (a later mask corrects the ids it gives).
    ``vidseg bench --engine copy`` runs it: what a tracker scores without following anything."""

    def __init__(self) -> None:
        super().__init__()
        self._labels: np.ndarray | None = None

    def reset(self) -> None:
        super().reset()
        self._labels = None

    def twin(self) -> CopyTracker:
        return CopyTracker()

    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray:
        image, mask, given = self._check_step(image, mask, objects)
        if mask is not None:
            self.objects.add(given)
            labels = np.zeros(mask.shape, np.uint8) if self._labels is None else self._labels.copy()
            labels[np.isin(labels, given)] = 0
            keep = np.isin(mask, given)
            labels[keep] = mask[keep]
            self._labels = labels
        assert self._labels is not None
        ids = self.objects.ids
        self._last_full = (self._labels[:, :, None] == np.asarray(ids, np.uint8)[None, None, :]).astype(np.float32)
        return self._labels.copy()
