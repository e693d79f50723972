"""Propagation as a background job: the tracking engine carries the user-set masks to the frames
between them, forward and backward, while the page stays usable.

The rule (MiVOS's fusion): a user-set frame is never overwritten, and a frame between two
user-set frames A < B takes a distance-weighted blend of the probabilities propagated from both,
``(B - t) / (B - A) * p_A(t) + (t - A) / (B - A) * p_B(t)``. Propagating from user-set frame N
therefore tracks the frames strictly between the user-set frames on either side of N, all the
way to each neighbour; the other side's probabilities come from the pass that last ran from that
neighbour (kept in memory at a quarter of the frame's side). Where they are missing (another
run of the server, a neighbour never propagated) a frame falls back to "nearest wins": a pass
writes only up to the midpoint towards the neighbour (with direction ``forward`` or ``backward``
alone it writes all the way). By default a job starts from the user-set frames changed since
they were last propagated (all of them the first time), so a correction on frame N re-propagates
around N only.

A correction carries only what the user changed (MiVOS's difference-aware fusion, without its
learned network): the pass follows N's new mask and N's mask before the change side by side (a
second tracker, sharing the first's per-frame work where the engine allows), and a frame that
propagation wrote gets ``p_now + w * (p_new - p_before)``, ``w`` falling from 1 at N to 0 at the
neighbouring user-set frame. A frame mended in part no longer spreads what is still wrong on it
over frames that were right.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidseg.annotate.project import Project
from vidseg.errors import InputError, VidsegError
from vidseg.io.reader import open_video
from vidseg.io.reverse import frames_backward
from vidseg.io.source import VideoReader
from vidseg.vos.engines import make_tracker
from vidseg.vos.stepping import SteppingTracker, Tracker

DIRECTIONS = ("both", "forward", "backward")
LOST_SHARE = 0.05  # an object below this share of its area on the anchor frame is flagged lost
SAVE_EVERY_S = 1.0
PRIME = 2  # other user-set frames (the nearest) put in the engine's memory before a pass
PROB_SCALE = 4  # kept probabilities: this many times smaller than the frame on each side
PROB_BUDGET = 512 << 20  # bytes of kept probabilities at most (beyond: nearest wins)


@dataclass(frozen=True)
class Pass:
    """Track from user-set frame ``anchor`` to ``reach`` (inclusive), one frame at a time; the
    frames up to ``stop`` are written in any case, those beyond it only when blended with the
    neighbouring user-set frame's propagation (``reach`` defaults to ``stop``)."""

    anchor: int
    stop: int
    reach: int = -1

    def __post_init__(self) -> None:
        if self.reach < 0:
            object.__setattr__(self, "reach", self.stop)

    @property
    def step(self) -> int:
        return 1 if self.reach > self.anchor else -1

    @property
    def frames(self) -> int:
        return abs(self.reach - self.anchor)


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
            reach = count - 1 if nxt is None else nxt - 1
            if reach > a:
                passes.append(Pass(a, max(stop, a), reach))
        if direction in ("both", "backward"):
            stop = 0 if prev is None else (prev + a) // 2 + 1 if direction == "both" else prev + 1
            reach = 0 if prev is None else prev + 1
            if reach < a:
                passes.append(Pass(a, min(stop, a), reach))
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
                 tracker_factory: Callable[[], Tracker] | None = None, prime: int = PRIME,
                 difference: bool = True) -> None:
        self.project = project
        self.prime = prime
        self.source = str(source)
        self.engine = engine
        self._factory = tracker_factory or (lambda: make_tracker(engine))
        self._tracker: Tracker | None = None
        self._second: Tracker | None = None  # follows the anchor's mask from before a correction
        #: a correction carries only what the user changed (MiVOS's difference-aware fusion)
        self.difference = difference
        self._on_change = on_change or (lambda: None)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.job = JobState()
        self._sides: dict[tuple[int, int], _Side] = {}  # (anchor, step) -> its last pass
        self._latest: dict[int, tuple[str | None, list[int], np.ndarray]] = {}  # frame -> what it got
        self._kept_bytes = 0

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
                    for t, labels, lost in self._pass(reader, p):
                        if self._cancel.is_set():
                            cancelled = True
                            break
                        if labels is not None:
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

    # -- kept probabilities and the fusion ----------------------------------------------------------
    def probability(self, index: int, obj: int) -> np.ndarray | None:
        """Object ``obj``'s propagated probability on frame ``index`` (float32 HxW, 0..1) as the
        last propagation wrote it, or None (a user-set frame, none kept, or not in it)."""
        current = self._current(index)
        if current is None or obj not in current[0]:
            return None
        ids, small = current
        s = self.project.source
        return cv2.resize(small[1 + ids.index(obj)].astype(np.float32) / 255, (s.width, s.height),
                          interpolation=cv2.INTER_LINEAR)

    def _keep(self, store: dict[int, np.ndarray], t: int, probs: np.ndarray) -> np.ndarray:
        s = self.project.source
        size = (max(1, s.width // PROB_SCALE), max(1, s.height // PROB_SCALE))
        small = cv2.resize(probs.transpose(1, 2, 0), size, interpolation=cv2.INTER_AREA)
        small = np.clip(np.rint(small.reshape(size[1], size[0], -1) * 255), 0, 255).astype(np.uint8).transpose(2, 0, 1)
        small = np.ascontiguousarray(small)
        if self._kept_bytes + small.nbytes <= PROB_BUDGET:
            old = store.get(t)
            self._kept_bytes += small.nbytes - (old.nbytes if old is not None else 0)
            store[t] = small
        return small

    def _other_side(self, p: Pass) -> tuple[int, _Side] | None:
        """The neighbouring user-set frame beyond ``p.reach`` and its current pass towards ``p``'s
        anchor, when kept and made from its mask as it is now."""
        other = p.reach + p.step
        if not 0 <= other < self.project.frame_count or self.project.status(other) != "user":
            return None
        side = self._sides.get((other, -p.step))
        if side is None or side.revision != self.project.revision(other):
            return None
        return other, side

    def _pass(self, reader: VideoReader, p: Pass) -> Iterator[tuple[int, np.ndarray | None, list[int]]]:
        """``(frame, labels or None (not to write), lost ids)`` for the frames of pass ``p``."""
        old = self._sides.pop((p.anchor, p.step), None)
        if old is not None:
            self._kept_bytes -= sum(a.nbytes for a in old.probs.values())
        given = self.project.mask(p.anchor)
        before = self._mask_before(p.anchor, old, given) if self.difference else None
        side = _Side(self.project.revision(p.anchor), [], {})
        self._sides[(p.anchor, p.step)] = side
        other = self._other_side(p)
        for t, labels, lost, ids, probs, was in self._track(reader, p, given, before):
            side.ids = ids
            beyond = (t - p.stop) * p.step > 0
            if probs is None:  # the anchor is empty: nothing to blend
                yield t, None if beyond else labels, lost
                continue
            self._keep(side.probs, t, probs)
            theirs = other[1].probs.get(t) if other is not None else None
            current = self._current(t) if was is not None else None
            fused = True
            if was is not None and current is not None:
                # the change the user made on the anchor, carried to frame t and added to what t has
                w = 1.0 if other is None else 1 - abs(t - p.anchor) / abs(other[0] - p.anchor)
                ids, probs = _add_change(current[0], current[1], ids, probs, was[0], was[1], w)
            elif other is not None and theirs is not None:
                w = abs(t - p.anchor) / abs(other[0] - p.anchor)
                ids, probs = _blend(ids, probs, 1 - w, other[1].ids, theirs, w)
            elif beyond:
                yield t, None, lost
                continue
            else:
                fused = False
            if fused:  # the labels and the lost objects follow the fused probabilities
                labels = np.asarray([0, *ids], np.uint8)[np.argmax(probs, axis=0)]
                counts = np.bincount(labels.ravel(), minlength=256)
                lost = [o for o in lost if counts[o] == 0 or o not in ids] if lost else lost
            kept = self._keep({}, t, probs)
            self._latest[t] = (None, ids, kept)
            yield t, labels, lost
            self._latest[t] = (self.project.revision(t), ids, kept)

    def _track(self, reader: VideoReader, p: Pass, given: np.ndarray | None, before: np.ndarray | None = None
               ) -> Iterator[tuple[int, np.ndarray, list[int], list[int], np.ndarray | None,
                                   tuple[list[int], np.ndarray] | None]]:
        """``(frame, labels, lost ids, ids, probabilities (K+1)xHxW or None, (ids, probabilities)
        propagated from ``before`` or None)`` for the frames of pass ``p`` after its anchor, whose
        labels are ``given``. ``before``: the anchor's labels before the user changed them,
        followed by a second tracker on the same frames (the difference between the two is the
        change the user made)."""
        step = p.step
        if given is None or not given.any():  # the user emptied the anchor: nothing to carry
            empty = np.zeros((self.project.source.height, self.project.source.width), np.uint8)
            for t in range(p.anchor + step, p.reach + step, step):
                yield t, empty, [], [], None, None
            return
        ids = [int(v) for v in np.unique(given) if v]
        areas = {o: int((given == o).sum()) for o in ids}
        assert self._tracker is not None
        runs = [(self._tracker, given, ids)]
        if before is not None and before.any():
            if self._second is None:  # an engine's twin shares its per-frame work where it can
                self._second = (self._tracker.twin() if isinstance(self._tracker, SteppingTracker)
                                else self._factory())
            runs.append((self._second, before, [int(v) for v in np.unique(before) if v]))
        for tracker, _, _ in runs:
            tracker.reset()
        # the nearest other user-set frames enter the engine's memory first (as given frames), so
        # a pass from a correction still knows what the object looked like where it was set before
        others = sorted((t for t in self.project.user_frames() if t != p.anchor), key=lambda t: abs(t - p.anchor))
        for t in others[: self.prime]:
            m = self.project.mask(t)
            if m is None:
                continue
            image = None
            for tracker, _, objs in runs:
                present = [o for o in objs if (m == o).any()]
                if present:
                    image = reader.read(t).image if image is None else image
                    tracker.step(image, np.where(np.isin(m, present), m, 0).astype(np.uint8), present)
        frames = (reader.read(t) for t in range(p.anchor, p.reach + 1)) if step > 0 else \
            frames_backward(reader, p.anchor, first=p.reach)
        for frame in frames:
            if frame.index == p.anchor:
                for tracker, mask, objs in runs:
                    tracker.step(frame.image, mask, objs)
                continue
            out = []
            for tracker, _, objs in runs:
                labels = tracker.step(frame.image)
                tids, probs = tracker.probabilities()
                keep = [0] + [1 + i for i, o in enumerate(tids) if o in objs]
                out.append((labels, [o for o in tids if o in objs], probs[keep]))
            labels, tids, probs = out[0]
            counts = np.bincount(labels.ravel(), minlength=256)
            lost = [o for o in ids if counts[o] < LOST_SHARE * areas[o]]
            yield frame.index, labels, lost, tids, probs, (out[1][1], out[1][2]) if len(out) > 1 else None

    def _mask_before(self, anchor: int, old: _Side | None, given: np.ndarray | None) -> np.ndarray | None:
        """The anchor's labels that the frames around it were propagated from, when the user has
        changed them since: the mask its last pass started from, or (never a start yet) the
        labels propagation last gave it. None when unknown or unchanged."""
        last = self.project.revision_mask(old.revision) if old is not None and old.revision else None
        if last is not None:
            before = last
        else:
            kept = self._latest.get(anchor)
            if kept is None:
                return None
            s = self.project.source
            _, ids, small = kept
            before = cv2.resize(np.asarray([0, *ids], np.uint8)[np.argmax(small, axis=0)], (s.width, s.height),
                                interpolation=cv2.INTER_NEAREST)
        if given is None or before.shape != given.shape or np.array_equal(before, given):
            return None
        return before

    def _current(self, t: int) -> tuple[list[int], np.ndarray] | None:
        """Frame ``t``'s propagated probabilities as kept (ids, uint8 at a smaller size), when they
        are what the frame shows now."""
        kept = self._latest.get(t)
        if kept is None or self.project.status(t) != "propagated" or kept[0] != self.project.revision(t):
            return None
        return kept[1], kept[2]


def _channels(p: np.ndarray, of: list[int], ids: list[int]) -> np.ndarray:
    """``p`` ((K+1) x ..., channel 0 the background, then the objects ``of``) over the objects
    ``ids`` (a superset), zeros for those it lacks."""
    out = np.zeros((len(ids) + 1, *p.shape[1:]), np.float32)
    out[0] = p[0]
    for k, o in enumerate(ids, 1):
        if o in of:
            out[k] = p[1 + of.index(o)]
    return out


def _resized(p: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Channels-first ``p`` resized to ``size`` (w, h), in its dtype."""
    w, h = size
    return cv2.resize(p.transpose(1, 2, 0), (w, h), interpolation=interpolation).reshape(h, w, -1).transpose(2, 0, 1)


def _add_change(ids_now: list[int], small_now: np.ndarray, ids_new: list[int], p_new: np.ndarray,
                ids_was: list[int], p_was: np.ndarray, w: float) -> tuple[list[int], np.ndarray]:
    """MiVOS's difference-aware fusion, without its learned part: what a frame shows now plus
    ``w`` times the change between the propagations of the anchor's new mask (``p_new``) and of its
    mask before (``p_was``). ``small_now`` (uint8) is kept at a smaller size, so the sum is taken as
    ``w * p_new + (1 - w) * now + w * (now - p_was)`` with the last two terms at that size: where
    nothing else differs, the frame gets the new propagation's full-size edges. Channel 0 is the
    background; the result is renormalised."""
    h, w_ = p_new.shape[1:]
    sh, sw = small_now.shape[1:]
    ids = sorted(set(ids_now) | set(ids_new) | set(ids_was))
    now = _channels(small_now.astype(np.float32) / 255, ids_now, ids)
    was_small = _resized(_channels(p_was, ids_was, ids), (sw, sh), cv2.INTER_AREA)
    out = w * _channels(p_new, ids_new, ids) + _resized((1 - w) * now + w * (now - was_small), (w_, h))
    np.clip(out, 0, 1, out=out)
    out /= np.maximum(out.sum(0, keepdims=True), 1e-6)
    return ids, out


def _blend(ids_a: list[int], pa: np.ndarray, wa: float, ids_b: list[int], small_b: np.ndarray, wb: float
           ) -> tuple[list[int], np.ndarray]:
    """``wa * pa + wb * pb`` over the union of both sides' objects (channel 0 the background);
    ``small_b`` is uint8 at a smaller size, scaled up to ``pa``'s."""
    h, w = pa.shape[1:]
    pb = _resized(small_b, (w, h)).astype(np.float32) / 255
    ids = sorted(set(ids_a) | set(ids_b))
    return ids, wa * _channels(pa, ids_a, ids) + wb * _channels(pb, ids_b, ids)


@dataclass
class _Side:
    """The probabilities one pass propagated from a user-set frame (as of its mask ``revision``)."""

    revision: str | None
    ids: list[int]
    probs: dict[int, np.ndarray]


class JobBusy(InputError):
    """A job is already running."""


def _short(frames: list[int]) -> str:
    return ", ".join(str(f) for f in frames[:5]) + (f" and {len(frames) - 5} more" if len(frames) > 5 else "")
