"""Clicks on a frame of the annotation page -> an object's mask, with the click head
(:mod:`vidseg.vos.click_head`): the clicks on one object of one frame add up."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vidseg.annotate.clicks import first_click_colour
from vidseg.vos.click_head import Click, ClickModel, colour_explains, drop_specks


class ClickSegmenter:
    """Clicks on a frame -> the object's mask, with the click head. The clicks made on one object
    of one frame add up (the head sees them all, with the mask before the first of them) until
    the mask is changed some other way (brush, undo, propagation, another object's edit)."""

    def __init__(self, model: ClickModel | None = None, threads: int = 2, keep: int = 8,
                 colour: Callable[[np.ndarray, int, int], np.ndarray] | None = first_click_colour) -> None:
        self._model = model
        #: a first click's colour segmentation (``colour(image, x, y)``), taken where it explains the
        #: head's mask (:func:`~vidseg.vos.click_head.colour_explains`); None: the head's alone
        self.colour = colour
        self.threads = threads
        self.keep = keep
        # (frame, object) -> (the mask before the clicks, the clicks, the mask after the last one)
        self._history: dict[tuple[int, int], tuple[np.ndarray | None, list[Click], np.ndarray]] = {}

    @property
    def model(self) -> ClickModel:
        if self._model is None:
            self._model = ClickModel(threads=self.threads)
        return self._model

    def mask(self, index: int, obj: int, image: np.ndarray, click: Click, current: np.ndarray,
             probability: np.ndarray | None = None) -> np.ndarray | None:
        """Object ``obj``'s new mask (bool) on frame ``index`` after ``click``, from its ``current``
        mask (bool) or, on a propagated frame, the tracker's ``probability`` (0..1); None when the
        head's mask does not respect the click (the caller falls back)."""
        before, clicks, after = self._history.get((index, obj), (None, [], np.zeros(0, bool)))
        if after.shape != current.shape or not np.array_equal(after, current):
            before = probability if probability is not None else (current if current.any() else None)
            clicks = []
        clicks = [*clicks, click]
        prob = self.model.probability(index, image, clicks, before)
        x, y, positive = click
        px = min(image.shape[1] - 1, max(0, int(x)))
        py = min(image.shape[0] - 1, max(0, int(y)))
        new = drop_specks(prob > 0.5)
        if bool(new[py, px]) != positive:
            return None
        if positive and before is None and len(clicks) == 1 and self.colour is not None:
            colour = self.colour(image, px, py)
            if colour[py, px] and colour_explains(new, colour):
                new = colour
                before, clicks = colour, []  # later clicks edit the colour region
        self._history.pop((index, obj), None)
        if len(self._history) >= self.keep:
            self._history.pop(next(iter(self._history)))
        self._history[(index, obj)] = (before, clicks, new)
        return new

