"""Saying when tracking fails: each object's area (and, where the engine gives it, its confidence)
watched frame by frame, whatever the engine.

:class:`HealthMonitor` is fed the output labels in frame order and records events per object:
``lost`` (its area fell below a small fraction of its given area), ``refound`` (back after being
lost) and ``area_jump`` (its area changed by more than a factor from one frame to the next or
against the median of the last few frames, while clear of the frame's border, where objects
enter and leave). :class:`TrackingReport` summarises them.
"""

from __future__ import annotations

import bisect
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

LOST_FRACTION = 0.05  # area below this fraction of the given area: lost
FOUND_FRACTION = 0.1  # a lost object is back from this fraction (above LOST_FRACTION: no flapping)
JUMP_FACTOR = 2.5  # area change from one frame to the next, or against the recent median
MEDIAN_WINDOW = 9  # frames in the running median


@dataclass(frozen=True)
class ObjectHealth:
    """How one object fared. Frame ranges are inclusive ``(first, last)``."""

    object_id: int
    first_given: int  # the first frame where it was given
    given_frames: list[int]
    frames_expected: int  # frames on which it was tracked (given on or before, or tracked back to)
    frames_tracked: int  # ... of which it had pixels
    lost: list[tuple[int, int]] = field(default_factory=list)
    refound: list[int] = field(default_factory=list)
    area_jumps: list[int] = field(default_factory=list)
    mean_confidence: float | None = None  # mean probability inside it, on the frames sampled
    min_confidence: float | None = None

    @property
    def ok(self) -> bool:
        """No loss and no area jump."""
        return not self.lost and not self.area_jumps

    def summary(self) -> str | None:
        """One line on what went wrong (None when nothing did), e.g. ``object 1 lost at frames
        2-40, refound at 41``."""
        if self.ok:
            return None
        parts = []
        if self.lost:
            parts.append("lost at frames " + ", ".join(_span(a, b) for a, b in self.lost))
        if self.refound:
            parts.append("refound at " + ", ".join(str(f) for f in self.refound))
        if self.area_jumps:
            parts.append("area jumped at frames " + ", ".join(_span(a, b) for a, b in _runs(self.area_jumps)))
        return f"object {self.object_id} " + ", ".join(parts)


@dataclass(frozen=True)
class TrackingReport:
    """Per-object health of one tracking run (see :class:`ObjectHealth`)."""

    frames: int
    direction: str
    objects: list[ObjectHealth]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.objects)

    def problems(self) -> list[str]:
        """One line per object that was lost or whose area jumped."""
        return [s for s in (o.summary() for o in self.objects) if s is not None]

    def to_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "direction": self.direction, "ok": self.ok,
                "objects": [{**asdict(o), "lost": [list(r) for r in o.lost], "ok": o.ok} for o in self.objects]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


@dataclass
class _Watch:
    given: dict[int, int]  # frame -> area given there
    expected: int = 0
    tracked: int = 0
    lost_since: int | None = None
    lost: list[tuple[int, int]] = field(default_factory=list)
    refound: list[int] = field(default_factory=list)
    jumps: list[int] = field(default_factory=list)
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=MEDIAN_WINDOW))
    previous: int | None = None  # area on the frame before, when it was clear of the border
    last_frame: int = -1
    confidence: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.given_frames = sorted(self.given)

    def given_area(self, frame: int) -> int:
        """The area given on the latest prompt at or before ``frame``, else on the first."""
        k = bisect.bisect_right(self.given_frames, frame) - 1
        return self.given[self.given_frames[max(k, 0)]]


class HealthMonitor:
    """Watches each object's area per frame; :meth:`report` gives the :class:`TrackingReport`.

    ``given_areas`` maps each object id to ``{frame: area}`` of the masks that gave it (areas in
    pixels of the frames). Feed :meth:`update` the frames in increasing order.
    """

    def __init__(self, given_areas: Mapping[int, Mapping[int, int]], *, direction: str = "forward",
                 lost_fraction: float = LOST_FRACTION, found_fraction: float = FOUND_FRACTION,
                 jump_factor: float = JUMP_FACTOR) -> None:
        self.direction = direction
        self.lost_fraction = lost_fraction
        self.found_fraction = max(found_fraction, lost_fraction)
        self.jump_factor = jump_factor
        self._watch = {int(o): _Watch(dict(g)) for o, g in sorted(given_areas.items())}
        self._frames = 0

    def update(self, frame: int, labels: np.ndarray, expected: Iterable[int],
               confidence: Mapping[int, float] | None = None) -> None:
        """Record frame ``frame``'s ``labels`` for the objects ``expected`` on it (tracked there);
        ``confidence`` is the engine's mean probability inside each object, where known."""
        self._frames = max(self._frames, frame + 1)
        counts = cv2.calcHist([np.ascontiguousarray(labels, np.uint8)], [0], None, [256], [0, 256]).ravel()
        border = _border_ids(labels)
        for obj in expected:
            w = self._watch.get(int(obj))
            if w is None:
                continue
            self._update(w, frame, int(counts[obj]), obj in border)
            if confidence is not None and obj in confidence:
                w.confidence.append(float(confidence[obj]))

    def _update(self, w: _Watch, frame: int, area: int, at_border: bool) -> None:
        w.expected += 1
        w.tracked += area > 0
        w.last_frame = frame
        ref = w.given_area(frame)
        if frame in w.given:  # a mask was given here: its area is the new reference
            w.recent.clear()
            w.previous = None
        if w.lost_since is not None:
            if area >= self.found_fraction * ref and area > 0:
                w.lost.append((w.lost_since, frame - 1))
                w.refound.append(frame)
                w.lost_since = None
                w.recent.append(area)
            w.previous = None if at_border else area
            return
        if area < self.lost_fraction * ref or area == 0:
            w.lost_since = frame
            w.recent.clear()
            w.previous = None
            return
        if not at_border and frame not in w.given and self._jumped(w, area):
            w.jumps.append(frame)
            w.recent.clear()  # the new area is the level later frames are measured against
        w.recent.append(area)
        w.previous = None if at_border else area

    def _jumped(self, w: _Watch, area: int) -> bool:
        f = self.jump_factor
        refs = [w.previous] if w.previous is not None else []
        if len(w.recent) >= 3:
            refs.append(int(np.median(w.recent)))
        return any(r > 0 and (area > f * r or area * f < r) for r in refs)

    def report(self) -> TrackingReport:
        """The report so far (an object still lost ends its lost range on its last frame)."""
        objects = []
        for obj, w in self._watch.items():
            lost = [*w.lost, (w.lost_since, w.last_frame)] if w.lost_since is not None else list(w.lost)
            conf = w.confidence
            objects.append(ObjectHealth(
                object_id=obj, first_given=w.given_frames[0], given_frames=list(w.given_frames),
                frames_expected=w.expected, frames_tracked=w.tracked, lost=lost, refound=list(w.refound),
                area_jumps=list(w.jumps), mean_confidence=float(np.mean(conf)) if conf else None,
                min_confidence=float(np.min(conf)) if conf else None))
        return TrackingReport(self._frames, self.direction, objects)


def _border_ids(labels: np.ndarray) -> set[int]:
    """Ids with pixels on the frame's border."""
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return {int(v) for v in np.unique(edge) if v}


def _runs(frames: list[int]) -> list[tuple[int, int]]:
    """Consecutive frames grouped into inclusive ranges."""
    runs: list[tuple[int, int]] = []
    for f in frames:
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def _span(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}-{b}"
