"""Unsupervised video object segmentation: find the video's main object(s) with no prompt and
follow them through the whole video.

:class:`AutoTrackingSession` runs the first pass (:func:`~vidseg.vos.auto.discover.discover`:
key frames by random access, the frame where the main object stands out best), gives the
objects found there to a :class:`~vidseg.vos.session.TrackingSession` (tracked forward and
backward from that frame, so every frame has them) whose engine is wrapped in a
:class:`~vidseg.vos.auto.fused.SalienceFusedTracker` (optionally, the head keeps saying where
the main object is). Memory stays bounded as for prompted tracking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidseg.errors import InputError
from vidseg.io.frames import Frame, FrameWrap
from vidseg.io.source import VideoReader
from vidseg.vos.auto.discover import KEY_EVERY, Discovery, discover, key_frame_indices
from vidseg.vos.auto.fused import HEAD_WEIGHT, SalienceFusedTracker
from vidseg.vos.auto.head import MainObjectHead, SaliencyMapper
from vidseg.vos.auto.motion import key_frame_motion
from vidseg.vos.engines import make_tracker
from vidseg.vos.health import TrackingReport
from vidseg.vos.session import TrackingSession

CUES = ("head", "motion")


@dataclass(frozen=True)
class AutoConfig:
    """Settings of automatic tracking."""

    objects: int = 1  # keep up to this many objects (ids 1..N by salience)
    engine: str = "default"  # the tracking engine that carries them through time
    engine_weights: str | None = None  # folder of a trained learned engine (default: the shipped one)
    head_weight: float = HEAD_WEIGHT  # the head's share of each frame's foreground (0 = engine only)
    refind: bool = False  # give a lost single object back to the engine where the head sees it
    key_every: int = KEY_EVERY  # frames between key frames of the first pass
    weights: str | None = None  # folder of a trained head (default: the shipped one)
    cue: str = "head"  # "head": the learned primary-object head; "motion": camera-compensated motion only
    threads: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.objects <= 255:
            raise InputError(f"the number of objects must be 1..255, got {self.objects}")
        if self.key_every < 1:
            raise InputError(f"key frames must be at least 1 frame apart, got {self.key_every}")
        if self.cue not in CUES:
            raise InputError(f"unknown cue {self.cue!r} (choose from {', '.join(CUES)})")
        if not 0.0 <= self.head_weight <= 1.0:
            raise InputError(f"the head's weight must be in 0..1, got {self.head_weight}")


@dataclass
class AutoReport:
    """What automatic tracking found and how sure it is: the first pass, a confidence per frame
    (mean foreground probability inside the objects; 0 on a frame without one) and per object,
    and the tracking report (lost, refound, area jumps; None when nothing was tracked)."""

    discovery: Discovery
    frame_confidence: list[float]
    tracking: TrackingReport | None

    @property
    def warnings(self) -> list[str]:
        out = [self.discovery.warning] if self.discovery.warning else []
        return out + (self.tracking.problems() if self.tracking else [])

    def to_dict(self) -> dict[str, Any]:
        d = self.discovery
        objects = []
        health = {o.object_id: o for o in self.tracking.objects} if self.tracking else {}
        for o in d.objects:
            h = health.get(o.object_id)
            objects.append({"id": o.object_id, "found_on_frame": o.frame, "found_confidence": o.confidence,
                            "mean_confidence": None if h is None or h.mean_confidence is None
                            else round(h.mean_confidence, 4)})
        return {"auto": {"start_frame": d.frame, "key_frames": {str(k): v for k, v in d.key_frames.items()},
                         "objects": objects, "frame_confidence": [round(c, 4) for c in self.frame_confidence],
                         "warning": d.warning},
                "tracking": self.tracking.to_dict() if self.tracking else None}

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2)


class AutoTrackingSession:
    """Find and follow the main object(s) of ``reader`` (a file or a frame folder: the first pass
    reads key frames by random access)."""

    def __init__(self, reader: VideoReader, config: AutoConfig | None = None) -> None:
        if reader.info.kind == "stream" or not len(reader):
            raise InputError("finding the main object reads key frames from the whole video: it needs a "
                             "video file or a frame folder, not a live stream", reader.path)
        self.reader = reader
        self.config = config or AutoConfig()
        self.head = MainObjectHead(self.config.weights, self.config.threads) if self.config.cue == "head" else None
        self.discovery: Discovery | None = None
        self._confidence: dict[int, float] = {}
        self._session: TrackingSession | None = None
        self._frames = 0

    def discover(self, wrap: Callable[[list[int]], Iterable[int]] | None = None) -> Discovery:
        """The first pass (run once; :meth:`propagate` runs it when not done yet)."""
        if self.discovery is None:
            cue: Callable[[int, np.ndarray], np.ndarray]
            motion = key_frame_motion(self.reader)
            if self.head is None:
                cue = motion
            else:
                mapper = SaliencyMapper(self.head, threads=self.config.threads)
                cue = lambda _t, image: mapper(image)  # noqa: E731
            keys = key_frame_indices(len(self.reader), self.config.key_every)
            self.discovery = discover(self.reader, cue, self.config.objects, keys, wrap, motion)
        return self.discovery

    def propagate(self, *, wrap_backward: FrameWrap | None = None) -> Iterator[tuple[Frame, np.ndarray]]:
        """Yield ``(frame, labels)`` for every frame in order (empty labels when nothing stands out)."""
        found = self.discover()
        if found.frame is None or found.labels is None:
            for frame in self.reader:
                self._confidence[frame.index] = 0.0
                self._frames = frame.index + 1
                yield frame, np.zeros(frame.image.shape[:2], np.uint8)
            return
        engine = make_tracker(self.config.engine, weights=self.config.engine_weights)
        fused = SalienceFusedTracker(engine, self.head, self.config.head_weight if self.head else 0.0,
                                     refind=self.config.refind)
        self._session = session = TrackingSession(self.reader, fused)
        session.add_mask(found.frame, found.labels)

        def backward(frames: Iterator[Frame], total: int | None) -> Iterable[Frame]:
            inner = frames if wrap_backward is None else wrap_backward(frames, total)
            return _recording(inner, fused, self._confidence)

        for frame, labels in session.propagate("both", wrap_backward=backward):
            if frame.index >= found.frame:
                self._confidence[frame.index] = fused.last_confidence or 0.0
            self._frames = frame.index + 1
            yield frame, labels

    @property
    def report(self) -> AutoReport:
        """The report over the frames yielded so far."""
        if self.discovery is None:
            raise InputError("nothing has been tracked yet: iterate propagate() first")
        conf = [self._confidence.get(t, 0.0) for t in range(self._frames)]
        return AutoReport(self.discovery, conf, self._session.report if self._session else None)


def _recording(frames: Iterable[Frame], tracker: SalienceFusedTracker, out: dict[int, float]) -> Iterator[Frame]:
    """Pass ``frames`` through, noting the tracker's confidence on each once it has been stepped."""
    last: int | None = None
    for frame in frames:
        if last is not None:
            out[last] = tracker.last_confidence or 0.0
        last = frame.index
        yield frame
    if last is not None:
        out[last] = tracker.last_confidence or 0.0
