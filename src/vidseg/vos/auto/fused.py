"""A tracker that carries the discovered objects through time and may keep asking the primary-object
head where the main object is: each frame's foreground is a weighted mean of the engine's
foreground probability and the head's (``weight``; parts the engine drops come back), and with
``refind`` a single object the engine loses is given back to it where the head sees it; the
engine keeps the objects apart and the ids stable. Both are off by default: on the leave-out
sequences the engine alone, started from the head's mask, scored best (see the README).

The head reads the learned engine's own backbone features of the frame (no second backbone run);
with an engine that has none (the classical ones) it runs the backbone itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.vos.auto.head import MainObjectHead, SaliencyMapper
from vidseg.vos.stepping import Tracker

HEAD_WEIGHT = 0.0  # the head's share of each frame's foreground probability (0: the engine's alone,
# measured best on the leave-out sequences; 0.5 is 0.002 J better on davis2016-dev, 0.02 worse there)
LOST_SHARE = 0.25  # an object below this share of its given area is searched for with the head


class SalienceFusedTracker:
    """Wraps an engine (the stepping interface: ``step``, ``object_ids``, ``probabilities``,
    ``reset``); frames where objects are given keep the given masks exactly."""

    def __init__(self, engine: Tracker, head: MainObjectHead | None, weight: float = HEAD_WEIGHT,
                 work_short: int = 240, refind: bool = False) -> None:
        if head is None:
            weight = 0.0  # the engine alone (no refinding either)
        if not 0.0 <= weight <= 1.0:
            raise InputError(f"the head's weight must be in 0..1, got {weight}")
        self.engine = engine
        self.head = head
        self.weight = weight
        self.refind = refind and head is not None
        self._own: SaliencyMapper | None = None
        self._work_short = work_short
        self._probs: np.ndarray | None = None
        self._given_area: int = 0  # pixels of the objects where last given
        self.refound = 0  # frames where the head gave a lost single object back to the engine
        #: mean fused foreground probability inside the objects on the last frame (None: no object)
        self.last_confidence: float | None = None

    @property
    def object_ids(self) -> list[int]:
        return self.engine.object_ids

    def reset(self) -> None:
        self.engine.reset()
        self._given_area = 0
        self._probs = None
        self.last_confidence = None

    def probabilities(self) -> tuple[list[int], np.ndarray]:
        if self._probs is None:
            return self.engine.probabilities()
        return self.engine.object_ids, self._probs

    def saliency(self, image: np.ndarray) -> np.ndarray:
        """The head's main-object probability for the frame just stepped, at stride 4."""
        feats = getattr(self.engine, "last_features", None)
        if feats is not None and self.head is not None:
            return self.head(feats)[0]
        assert self.head is not None
        if self._own is None:
            self._own = SaliencyMapper(self.head, self._work_short)
        return self._own(image)

    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray:
        labels = self.engine.step(image, mask, objects)
        ids, probs = self.engine.probabilities()
        h, w = labels.shape
        if mask is not None:
            self._given_area = int(np.count_nonzero(labels))
        lost = (mask is None and self.refind and len(ids) == 1
                and np.count_nonzero(labels) < LOST_SHARE * self._given_area)
        if lost:
            sal = cv2.resize(self.saliency(image), (w, h), interpolation=cv2.INTER_LINEAR)
            found = self._refind(image, sal, ids[0])
            if found is not None:
                return found
        if mask is not None or not ids or self.weight == 0.0:
            self._probs = None
            self.last_confidence = _inside(1.0 - probs[0], labels)
            return labels
        if not lost:
            sal = cv2.resize(self.saliency(image), (w, h), interpolation=cv2.INTER_LINEAR)
        engine_fg = 1.0 - probs[0]
        fg = (1.0 - self.weight) * engine_fg + self.weight * sal
        # each object's share of the foreground: the engine's, or equal shares where it sees none
        share = np.where(engine_fg[None] > 1e-6, probs[1:] / np.maximum(engine_fg, 1e-6)[None], 1.0 / len(ids))
        fused = np.concatenate([(1.0 - fg)[None], share * fg[None]], 0).astype(np.float32)
        self._probs = fused
        best = np.argmax(probs[1:], axis=0) if len(ids) > 1 else np.zeros((h, w), np.intp)
        out = np.where(fg > 0.5, np.asarray(ids, np.uint8)[best], 0).astype(np.uint8)
        self.last_confidence = _inside(fg, out)
        return out


    def _refind(self, image: np.ndarray, sal: np.ndarray, obj: int) -> np.ndarray | None:
        """A lost single object: where the head sees a salient region of a plausible size (a
        quarter to four times the given area), that region is given back to the engine as the
        object (a correction on this frame); None when the head sees nothing such."""
        region = sal > 0.5
        area = int(np.count_nonzero(region))
        if not LOST_SHARE * self._given_area <= area <= 4 * self._given_area:
            return None
        mask = region.astype(np.uint8) * np.uint8(obj)
        labels = self.engine.step(image, mask, [obj])
        self.refound += 1
        self._probs = None
        self.last_confidence = float(sal[region].mean())
        return labels


def _inside(fg: np.ndarray, labels: np.ndarray) -> float | None:
    inside = labels > 0
    return float(fg[inside].mean()) if inside.any() else None
