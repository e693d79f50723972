"""A SAM-2-like session: masks added on chosen frames, then one streaming pass that yields every
frame's labels in frame order, the objects followed forward and backward from where they are given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from vidseg.errors import InputError
from vidseg.io.frames import Frame, FrameWrap
from vidseg.io.reverse import frames_backward
from vidseg.io.source import VideoReader
from vidseg.io.spill import LabelSpill
from vidseg.vos.engines import EngineConfig, resolve_tracker
from vidseg.vos.health import HealthMonitor, TrackingReport
from vidseg.vos.objects import ObjectManager
from vidseg.vos.stepping import Tracker

Direction = Literal["forward", "backward", "both"]
DIRECTIONS: tuple[str, ...] = get_args(Direction)
CONFIDENCE_EVERY = 10  # frames between two samples of the engine's confidence for the report
# (probabilities() at full resolution costs about a tenth of a step)


class TrackingSession:
    """Track objects through ``frames`` from masks given with :meth:`add_mask`.

    ``frames`` is a :class:`~vidseg.io.source.VideoReader` (needed to track backward: a file or
    a frame folder, read backward in chunks) or any iterable of frames in order (forward only).
    ``engine`` is an engine name (see :mod:`vidseg.vos.engines`), an engine's config with a
    ``make_tracker()`` method (e.g. :class:`~vidseg.vos.classical.ClassicalConfig`), or a ready
    tracker with the stepping interface. Per frame nothing is kept in memory: any length of video
    streams in bounded memory (labels tracked backward wait in a temporary folder under
    ``spill_dir``, default the system's temporary folder, removed at the end).
    """

    def __init__(self, frames: VideoReader | Iterable[Frame], engine: str | EngineConfig | Tracker = "default",
                 *, spill_dir: str | Path | None = None) -> None:
        self._frames = frames
        self.tracker: Tracker = resolve_tracker(engine)
        self._spill_dir = spill_dir
        self._prompts: dict[int, tuple[np.ndarray, list[int] | None]] = {}
        self._monitor: HealthMonitor | None = None

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
        chosen = _present(mask) if ids is None else ids
        if not chosen:
            raise InputError(f"the mask for frame {frame_index} is empty")
        if frame_index in self._prompts:
            old, old_ids = self._prompts[frame_index]
            if old.shape != mask.shape:
                raise InputError(f"masks for frame {frame_index} differ in size")
            old_chosen = old_ids if old_ids is not None else _present(old)
            merged = np.where(np.isin(old, old_chosen), old, 0).astype(np.uint8)
            keep = np.isin(mask, chosen)
            merged[np.isin(merged, chosen)] = 0
            merged[keep] = mask[keep]
            self._prompts[frame_index] = (merged, sorted(set(old_chosen) | set(chosen)))
        else:
            self._prompts[frame_index] = (mask, ids)

    @property
    def report(self) -> TrackingReport:
        """Each object's health (lost, refound, area jumps: :mod:`vidseg.vos.health`) over the
        frames :meth:`propagate` has yielded so far."""
        if self._monitor is None:
            raise InputError("nothing has been tracked yet: iterate propagate() first")
        return self._monitor.report()

    def propagate(self, direction: Direction = "both", *, wrap_backward: FrameWrap | None = None
                  ) -> Iterator[tuple[Frame, np.ndarray]]:
        """Yield ``(frame, labels)`` for every frame, in increasing frame order.

        ``both`` (default): every object on every frame: followed forward from where it is first
        given, and backward from there to frame 0 (objects given later fill only pixels the
        objects given earlier leave as background). ``forward``: objects only from where they
        are first given (frames before are empty). ``backward``: tracked from the last given
        frame down to frame 0, masks applied as they are met; frames after the last given one
        are empty. Tracking backward needs random access (a file or a frame folder, not a live
        stream or a plain iterator): an :class:`InputError` says so before anything is tracked.
        ``wrap_backward`` may wrap the backward pass's frames (last to first; a progress bar),
        which runs before the first frame is yielded.
        """
        if direction not in DIRECTIONS:
            raise InputError(f"unknown direction {direction!r} (choose from {', '.join(DIRECTIONS)})")
        if not self._prompts:
            raise InputError("no mask was given: give the objects on some frame first")
        plan = _Plan(direction, {t: self._chosen(t) for t in sorted(self._prompts)})
        self._check_length(plan.last_frame)
        self._monitor = HealthMonitor(
            {o: {t: int(np.count_nonzero(self._prompts[t][0] == o)) for t, ids in plan.given.items() if o in ids}
             for o in plan.first}, direction=direction)
        with contextlib.ExitStack() as stack:
            spill: LabelSpill | None = None
            if plan.back_from is not None:
                reader = self._random_access(plan.back_from, direction)
                spill = stack.enter_context(LabelSpill(self._spill_dir))
                self._track_backward(reader, plan.back_from, spill, wrap_backward)
            self.tracker.reset()
            seen = -1
            for frame in self._frames:
                t = seen = frame.index
                if direction == "backward":
                    labels = np.zeros(frame.image.shape[:2], np.uint8)
                else:
                    labels = self._step(frame)
                if spill is not None and t in spill:
                    labels = _merge(labels, spill.get(t), direction, plan.given_after(t))
                confidence = self._confidence(labels, t) if direction != "backward" else None
                self._monitor.update(t, labels, plan.expected(t), confidence)
                yield frame, labels
        if seen < plan.last_frame:
            raise InputError(f"a mask was given for frame {plan.last_frame} but the video ended after frame {seen}")

    # -- passes -----------------------------------------------------------------------------
    def _step(self, frame: Frame) -> np.ndarray:
        """The forward tracker's labels for ``frame`` (all zero before the first mask)."""
        prompt = self._prompts.get(frame.index)
        if prompt is not None:
            return self.tracker.step(frame.image, prompt[0], prompt[1])
        if not self.tracker.object_ids:
            return np.zeros(frame.image.shape[:2], np.uint8)
        return self.tracker.step(frame.image)

    def _track_backward(self, reader: VideoReader, start: int, spill: LabelSpill, wrap: FrameWrap | None) -> None:
        """Track from frame ``start`` (a given one) down to 0, masks applied as they are met; the
        labels go to ``spill``."""
        self.tracker.reset()
        backward = frames_backward(reader, start)
        for frame in backward if wrap is None else wrap(backward, start + 1):
            spill.put(frame.index, self._step(frame))

    # -- checks and helpers -------------------------------------------------------------------
    def _chosen(self, t: int) -> list[int]:
        mask, ids = self._prompts[t]
        return _present(mask) if ids is None else ids

    def _check_length(self, last: int) -> None:
        n = len(self._frames) if isinstance(self._frames, VideoReader) else 0
        if n and last >= n:
            raise InputError(f"a mask was given for frame {last} but the video has {n} frames (0..{n - 1})")

    def _random_access(self, start: int, direction: str) -> VideoReader:
        frames = self._frames
        if isinstance(frames, VideoReader) and frames.info.kind != "stream":
            return frames
        what = "objects are given" if direction == "backward" else "an object is first given"
        source, path = ("a live stream", frames.path) if isinstance(frames, VideoReader) else ("a stream of frames", None)
        raise InputError(f"{what} on frame {start}: tracking back to the frames before it needs random "
                         f"access (a video file or a frame folder), which {source} lacks; track forward "
                         "only (direction 'forward', vidseg track --direction forward)", path)

    def _confidence(self, labels: np.ndarray, t: int) -> dict[int, float] | None:
        """Every few frames, the engine's mean probability inside each object it tracks forward."""
        if t % CONFIDENCE_EVERY or not self.tracker.object_ids:
            return None
        ids, prob = self.tracker.probabilities()
        out = {}
        for channel, o in ObjectManager(ids).with_channels():
            inside = labels == o
            if inside.any():
                out[o] = float(prob[channel][inside].mean())
        return out


class _Plan:
    """Which objects are tracked on which frames, from the ids given on each frame."""

    def __init__(self, direction: str, given: dict[int, list[int]]) -> None:
        self.direction = direction
        self.given = given  # frame -> ids given there, frames ascending
        self.first: dict[int, int] = {}  # id -> the first frame it is given on
        self.last: dict[int, int] = {}  # id -> the last frame it is given on
        for t, ids in given.items():
            for o in ids:
                self.first.setdefault(o, t)
                self.last[o] = t
        self.last_frame = max(given)
        later = [t for t in self.first.values() if t > 0]
        self.back_from: int | None = None  # where the backward pass starts (None: no backward pass)
        if direction == "backward":
            self.back_from = self.last_frame
        elif direction == "both" and later:
            self.back_from = max(later)

    def given_after(self, t: int) -> list[int]:
        """The objects first given after frame ``t``."""
        return [o for o, f in self.first.items() if f > t]

    def expected(self, t: int) -> list[int]:
        """The objects tracked on frame ``t``."""
        if self.direction == "both":
            return list(self.first)
        if self.direction == "forward":
            return [o for o, f in self.first.items() if f <= t]
        return [o for o, f in self.last.items() if f >= t]


def _present(mask: np.ndarray) -> list[int]:
    return [int(v) for v in np.unique(mask) if v != 0]


def _merge(forward: np.ndarray, backward: np.ndarray | None, direction: str, late: list[int]) -> np.ndarray:
    """A frame's output from its forward labels and its backward ones: the backward labels alone
    for ``backward``; else the forward labels, with the background filled by the backward labels
    of the objects given only later (``late``)."""
    if backward is None:
        return forward
    if direction == "backward":
        return backward
    if not late:
        return forward
    fill = (forward == 0) & np.isin(backward, late)
    return np.where(fill, backward, forward).astype(np.uint8)
