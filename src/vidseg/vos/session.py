"""A SAM-2-like session: masks added on chosen frames, then one streaming pass over the video."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from vidseg.errors import InputError
from vidseg.io.frames import Frame
from vidseg.vos.engines import Tracker, make_tracker


class TrackingSession:
    """Track objects through ``frames`` from masks given with :meth:`add_mask`.

    Frames are read one by one as :meth:`propagate` is iterated and nothing per frame is kept, so
    any length of video streams in bounded memory.
    """

    def __init__(self, frames: Iterable[Frame], config: str | Tracker = "default") -> None:
        """``config`` is an engine name (see :mod:`vidseg.vos.engines`) or a ready tracker with
        the ``step`` interface."""
        self._frames = frames
        self.tracker: Tracker
        if isinstance(config, str):
            self.tracker = make_tracker(config)
        else:
            self.tracker = config
        self._prompts: dict[int, tuple[np.ndarray, list[int] | None]] = {}

    def add_mask(self, frame_index: int, mask: np.ndarray, objects: Iterable[int] | None = None) -> None:
        """Give objects on frame ``frame_index``: ids in ``objects`` (default: all in ``mask``).

        New ids start being tracked there; known ids are corrected. Several masks on one frame merge.
        """
        if frame_index < 0:
            raise InputError(f"frame index {frame_index} is negative")
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise InputError(f"mask must be a 2-D array of ids, got shape {mask.shape}")
        if mask.size and (mask.min() < 0 or mask.max() > 255):
            raise InputError("mask ids must be in 0..255")
        mask = mask.astype(np.uint8)
        ids = None if objects is None else sorted({int(o) for o in objects})
        chosen = [int(v) for v in np.unique(mask) if v != 0] if ids is None else ids
        if not chosen:
            raise InputError(f"the mask for frame {frame_index} is empty")
        if frame_index in self._prompts:
            old, old_ids = self._prompts[frame_index]
            if old.shape != mask.shape:
                raise InputError(f"masks for frame {frame_index} differ in size")
            old_chosen = old_ids if old_ids is not None else [int(v) for v in np.unique(old) if v != 0]
            merged = np.where(np.isin(old, old_chosen), old, 0).astype(np.uint8)
            keep = np.isin(mask, chosen)
            merged[np.isin(merged, chosen)] = 0
            merged[keep] = mask[keep]
            self._prompts[frame_index] = (merged, sorted(set(old_chosen) | set(chosen)))
        else:
            self._prompts[frame_index] = (mask, ids)

    def propagate(self) -> Iterator[tuple[Frame, np.ndarray]]:
        """Yield ``(frame, labels)`` per frame; frames before the first mask get all-zero labels."""
        if not self._prompts:
            raise InputError("no mask was added: give the objects on some frame first")
        self.tracker.reset()
        last = max(self._prompts)
        seen = -1
        for frame in self._frames:
            seen = frame.index
            prompt = self._prompts.get(frame.index)
            if prompt is None and not self.tracker.object_ids:
                yield frame, np.zeros(frame.image.shape[:2], np.uint8)
                continue
            if prompt is None:
                yield frame, self.tracker.step(frame.image)
            else:
                yield frame, self.tracker.step(frame.image, prompt[0], prompt[1])
        if seen < last:
            raise InputError(f"a mask was given for frame {last} but the video ended after frame {seen}")
