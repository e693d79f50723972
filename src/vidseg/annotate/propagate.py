"""Propagation as a background job: the tracking engine carries the user-set masks to the frames
between them, forward and backward, while the page stays usable.

The rule (MiVOS's, in its "nearest wins" form): every frame takes the masks propagated from its
nearest user-set frame (a tie goes to the earlier one), and a user-set frame is never
overwritten. Propagating from user-set frame N therefore rewrites only frames strictly between
the user-set frames on either side of N: forward up to the midpoint towards the next one,
backward down to the midpoint towards the previous one (with direction ``forward`` or
``backward`` alone a pass runs all the way to the neighbouring user-set frame). By default a job
starts from the user-set frames changed since they were last propagated (all of them the first
time), so a correction on frame N re-propagates around N only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidseg.annotate.project import Project
from vidseg.errors import InputError, VidsegError
from vidseg.io.reader import open_video
from vidseg.io.reverse import frames_backward
from vidseg.io.source import VideoReader
from vidseg.vos.engines import make_tracker
from vidseg.vos.stepping import Tracker

DIRECTIONS = ("both", "forward", "backward")
LOST_SHARE = 0.05  # an object below this share of its area on the anchor frame is flagged lost
SAVE_EVERY_S = 1.0
PRIME = 2  # other user-set frames (the nearest) put in the engine's memory before a pass


@dataclass(frozen=True)
class Pass:
    """Track from user-set frame ``anchor`` to ``stop`` (inclusive), one frame at a time."""

    anchor: int
    stop: int

    @property
    def frames(self) -> int:
        return abs(self.stop - self.anchor)


def plan(user: list[int], anchors: list[int], count: int, direction: str = "both") -> list[Pass]:
    """The passes that propagate from ``anchors`` (user-set frames) over a video of ``count``
    frames whose user-set frames are ``user`` (see the module docstring)."""
    if direction not in DIRECTIONS:
        raise InputError(f"unknown direction {direction!r} (choose from {', '.join(DIRECTIONS)})")
    us = sorted(set(user))
    passes: list[Pass] = []
    for a in sorted(set(anchors)):
        if a not in us:
            raise InputError(f"frame {a} is not user-set: propagation starts from user-set frames only")
        i = us.index(a)
        prev = us[i - 1] if i > 0 else None
        nxt = us[i + 1] if i + 1 < len(us) else None
        if direction in ("both", "forward"):
            stop = count - 1 if nxt is None else (a + nxt) // 2 if direction == "both" else nxt - 1
            if stop > a:
                passes.append(Pass(a, stop))
        if direction in ("both", "backward"):
            stop = 0 if prev is None else (prev + a) // 2 + 1 if direction == "both" else prev + 1
            if stop < a:
                passes.append(Pass(a, stop))
    return passes


@dataclass
class JobState:
    """What the page shows about the current (or last) job."""

    state: str = "idle"  # idle | running | cancelling
    done: int = 0
    total: int = 0
    frame: int | None = None
    message: str = ""
    started: float = 0.0
    fps: float = 0.0
    error: str | None = None
    anchors: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Propagator:
    """Runs at most one propagation job at a time in a background thread, over ``project``,
    reading the video at ``source`` with its own reader; ``engine`` names the tracking engine.
    ``on_change`` is called (from the job's thread) whenever the job state or the project changes.
    Each pass first shows the engine the ``prime`` user-set frames nearest its anchor (their
    masks of the anchor's objects), then the anchor, then the frames to propagate to."""

    def __init__(self, project: Project, source: str | Path, engine: str = "default",
                 on_change: Callable[[], None] | None = None,
                 tracker_factory: Callable[[], Tracker] | None = None, prime: int = PRIME) -> None:
        self.project = project
        self.prime = prime
        self.source = str(source)
        self.engine = engine
        self._factory = tracker_factory or (lambda: make_tracker(engine))
        self._tracker: Tracker | None = None
        self._on_change = on_change or (lambda: None)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.job = JobState()

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def start(self, direction: str = "both", frames: list[int] | None = None) -> JobState:
        """Start a job from user-set ``frames`` (default: those changed since last propagated,
        else all). :class:`JobBusy` if one is running; :class:`InputError` when there is nothing
        to propagate from."""
        with self._lock:
            if self.running:
                raise JobBusy("a propagation is already running: wait for it or cancel it")
            user = self.project.user_frames()
            if not user:
                raise InputError("no frame has a mask set by you yet: click an object first")
            anchors = sorted(set(frames)) if frames else (self.project.dirty_frames() or user)
            passes = plan(user, anchors, self.project.frame_count, direction)
            self._cancel.clear()
            self.job = JobState(state="running", total=sum(p.frames for p in passes), started=time.time(),
                                message=f"propagating {direction} from frame(s) {_short(anchors)}", anchors=anchors)
            self.project.begin_propagation(f"propagate {direction} from {_short(anchors)}")
            self._thread = threading.Thread(target=self._run, args=(passes, anchors), name="vidseg-propagate",
                                            daemon=True)
            self._thread.start()
            return self.job

    def cancel(self) -> bool:
        """Ask the running job to stop after its current frame; False when none runs."""
        if not self.running:
            return False
        self._cancel.set()
        self.job.state = "cancelling"
        self._on_change()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True when none is running any more."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return not self.running

    # -- the job ------------------------------------------------------------------------------
    def _run(self, passes: list[Pass], anchors: list[int]) -> None:
        last_save = time.time()
        cancelled = False
        try:
            if self._tracker is None:
                self._tracker = self._factory()
            with open_video(self.source) as reader:
                for p in passes:
                    for t, labels, lost in self._track(reader, p):
                        if self._cancel.is_set():
                            cancelled = True
                            break
                        self.project.put_propagated(t, labels, lost)
                        self.job.done += 1
                        self.job.frame = t
                        self.job.fps = self.job.done / max(1e-6, time.time() - self.job.started)
                        if time.time() - last_save > SAVE_EVERY_S:
                            self.project.save_progress()
                            last_save = time.time()
                        self._on_change()
                    if cancelled:
                        break
        except VidsegError as exc:
            self.job.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the page must hear about it, not a dead thread
            self.job.error = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            done_anchors = [] if cancelled or self.job.error else anchors
            self.project.end_propagation(done_anchors)
            took = time.time() - self.job.started
            self.job.message = (f"cancelled after {self.job.done} frames" if cancelled else
                                f"failed: {self.job.error}" if self.job.error else
                                f"propagated {self.job.done} frames in {took:.1f} s")
            self.job.state = "idle"
            self._on_change()

    def _track(self, reader: VideoReader, p: Pass) -> Iterator[tuple[int, np.ndarray, list[int]]]:
        """``(frame, labels, lost ids)`` for the frames of pass ``p`` after its anchor."""
        given = self.project.mask(p.anchor)
        step = 1 if p.stop > p.anchor else -1
        if given is None or not given.any():  # the user emptied the anchor: nothing to carry
            empty = np.zeros((self.project.source.height, self.project.source.width), np.uint8)
            for t in range(p.anchor + step, p.stop + step, step):
                yield t, empty, []
            return
        ids = [int(v) for v in np.unique(given) if v]
        areas = {o: int((given == o).sum()) for o in ids}
        tracker = self._tracker
        assert tracker is not None
        tracker.reset()
        # the nearest other user-set frames enter the engine's memory first (as given frames), so
        # a pass from a correction still knows what the object looked like where it was set before
        others = sorted((t for t in self.project.user_frames() if t != p.anchor), key=lambda t: abs(t - p.anchor))
        for t in others[: self.prime]:
            m = self.project.mask(t)
            present = [o for o in ids if m is not None and (m == o).any()]
            if m is not None and present:
                tracker.step(reader.read(t).image, np.where(np.isin(m, present), m, 0).astype(np.uint8), present)
        frames = (reader.read(t) for t in range(p.anchor, p.stop + 1)) if step > 0 else \
            frames_backward(reader, p.anchor, first=p.stop)
        for frame in frames:
            if frame.index == p.anchor:
                tracker.step(frame.image, given, ids)
                continue
            labels = tracker.step(frame.image)
            counts = np.bincount(labels.ravel(), minlength=256)
            lost = [o for o in ids if counts[o] < LOST_SHARE * areas[o]]
            yield frame.index, labels, lost


class JobBusy(InputError):
    """A job is already running."""


def _short(frames: list[int]) -> str:
    return ", ".join(str(f) for f in frames[:5]) + (f" and {len(frames) - 5} more" if len(frames) > 5 else "")
