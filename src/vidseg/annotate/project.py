"""An annotation project: one folder holding everything the user did on one video.

Layout of ``<project>/``::

    project.json        the state: the source video, objects, which mask file each frame has,
                        which frames the user set / the tracker propagated / flagged as lost,
                        and the undo history
    project.prev.json   the state before the last change (kept for recovery by hand)
    masks/NNNNN.R.png   palette PNGs (pixel = object id), one per frame revision, never rewritten

Mask files are immutable: a change writes a new revision ``R`` and then the state file, both
atomically (:mod:`vidseg.io.atomic`), so a process killed at any moment (``kill -9`` included)
leaves either the old state or the new one, never a mix. Undo and redo only move the state's
references between revisions. Files no state or history entry refers to are removed when the
project is opened.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidseg.errors import ArgumentError, InputError, OutputError
from vidseg.io.atomic import atomic_path, write_bytes_atomic
from vidseg.io.palette import PALETTE, read_mask, write_mask

STATE = "project.json"
PREVIOUS = "project.prev.json"
MASKS = "masks"
FORMAT = 1
HISTORY_LIMIT = 100  # undo steps kept
HISTORY_FRAMES = 20_000  # frame changes kept for undo, over all steps
MAX_OBJECTS = 255
USER, PROPAGATED = "user", "propagated"
_MASK_NAME = re.compile(r"^(\d+)\.(\d+)\.png$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def default_color(obj_id: int) -> str:
    """The DAVIS palette colour of ``obj_id`` as ``#rrggbb``."""
    r, g, b = (int(v) for v in PALETTE[obj_id % 256])
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass(frozen=True)
class SourceInfo:
    """What identifies the video a project belongs to."""

    path: str
    frames: int
    width: int
    height: int
    fingerprint: str  # a digest of a few decoded frames' pixels

    def describe(self) -> str:
        return f"{Path(self.path).name} ({self.frames} frames, {self.width}x{self.height})"


class Project:
    """The state of one annotation project (see the module docstring); thread-safe.

    Use :meth:`create` for a new folder and :meth:`open` to resume one. Every public method that
    changes something saves before it returns.
    """

    def __init__(self, folder: Path, state: dict[str, Any]) -> None:
        self.folder = folder
        self._state = state
        self._lock = threading.RLock()
        self._rev = int(state.get("next_rev", 1))
        self._open_entry: dict[str, Any] | None = None  # a propagation being recorded
        self.version = 0  # bumped on every change (the page polls/streams it)

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, source: SourceInfo) -> Project:
        """A new project for ``source`` in ``folder`` (made if needed; must not hold a project)."""
        d = Path(folder)
        if (d / STATE).exists():
            raise InputError("already holds a project", d)
        try:
            (d / MASKS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the project folder ({exc.strerror or exc}); give another "
                              "--project", d) from exc
        state = {"format": FORMAT, "source": source.__dict__, "objects": [], "frames": {},
                 "lost": {}, "dirty": [], "history": [], "undone": [], "next_rev": 1}
        p = cls(d, state)
        p._save()
        return p

    @classmethod
    def open(cls, folder: str | Path, source: SourceInfo | None = None) -> Project:
        """Resume the project in ``folder``. With ``source``, refuse a project made for another
        video. A damaged state file is an :class:`InputError` that leaves every file as it is."""
        d = Path(folder)
        path = d / STATE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("no project here (project.json is missing)", d) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the project state ({exc})", path) from exc
        try:
            state = json.loads(text)
            _check_state(state)
        except (ValueError, KeyError, TypeError) as exc:
            hint = f"; the state before the last change is in {PREVIOUS}" if (d / PREVIOUS).is_file() else ""
            raise InputError(f"the project state is damaged or truncated ({exc}); nothing was changed: "
                             f"the masks are in {MASKS}/{hint} (copy it over {STATE} to go back to it)",
                             path) from exc
        if source is not None:
            mine = SourceInfo(**state["source"])
            if (mine.frames, mine.width, mine.height, mine.fingerprint) != (
                    source.frames, source.width, source.height, source.fingerprint):
                raise InputError(f"this project was made for another video, {mine.describe()}, not "
                                 f"{source.describe()}; give another --project folder", d)
            if mine.path != source.path:
                state["source"]["path"] = source.path  # the same video, moved
        p = cls(d, state)
        p._collect_garbage()
        return p

    # -- reading ------------------------------------------------------------------------------
    @property
    def source(self) -> SourceInfo:
        return SourceInfo(**self._state["source"])

    @property
    def frame_count(self) -> int:
        return int(self._state["source"]["frames"])

    def objects(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._state["objects"])

    def object_ids(self) -> list[int]:
        with self._lock:
            return [int(o["id"]) for o in self._state["objects"]]

    def status(self, index: int) -> str | None:
        """``"user"``, ``"propagated"`` or None (no mask yet) for frame ``index``."""
        with self._lock:
            entry = self._state["frames"].get(str(index))
            return None if entry is None else str(entry[1])

    def revision(self, index: int) -> str | None:
        """The name of frame ``index``'s current mask file (a new one on every change), or None."""
        with self._lock:
            entry = self._state["frames"].get(str(index))
            return None if entry is None else str(entry[0])

    def user_frames(self) -> list[int]:
        with self._lock:
            return sorted(int(k) for k, (_, s) in self._state["frames"].items() if s == USER)

    def dirty_frames(self) -> list[int]:
        """User-set frames changed since propagation last ran from them."""
        with self._lock:
            return sorted(int(t) for t in self._state["dirty"])

    def timeline(self) -> dict[str, Any]:
        """Per-frame status for the page: user-set, propagated and lost frame lists."""
        with self._lock:
            user: list[int] = []
            prop: list[int] = []
            for k, (_, s) in self._state["frames"].items():
                (user if s == USER else prop).append(int(k))
            lost = sorted(int(k) for k, v in self._state["lost"].items() if v)
            return {"user": sorted(user), "propagated": sorted(prop), "lost": lost}

    def lost_objects(self, index: int) -> list[int]:
        with self._lock:
            return list(self._state["lost"].get(str(index), []))

    def mask(self, index: int) -> np.ndarray | None:
        """Frame ``index``'s label map (HxW uint8), or None when it has none yet."""
        self._check_index(index)
        with self._lock:
            entry = self._state["frames"].get(str(index))
        if entry is None:
            return None
        return read_mask(self.folder / MASKS / entry[0], binary_255_is_object=False)

    def revision_mask(self, revision: str) -> np.ndarray | None:
        """The label map of mask revision ``revision`` (see :meth:`revision`), or None when it is
        no longer kept (history trimmed) or not a revision name."""
        if not _MASK_NAME.match(revision):
            return None
        try:
            return read_mask(self.folder / MASKS / revision, binary_255_is_object=False)
        except (InputError, OSError):
            return None

    def labels_or_empty(self, index: int) -> np.ndarray:
        m = self.mask(index)
        if m is None:
            s = self.source
            return np.zeros((s.height, s.width), np.uint8)
        return m

    def can_undo(self) -> bool:
        with self._lock:
            return bool(self._state["history"]) and self._open_entry is None

    def can_redo(self) -> bool:
        with self._lock:
            return bool(self._state["undone"]) and self._open_entry is None

    def summary(self) -> dict[str, Any]:
        """The state the page shows (no mask pixels)."""
        with self._lock:
            hist = self._state["history"]
            return {"source": dict(self._state["source"]), "objects": self.objects(),
                    "timeline": self.timeline(), "dirty": self.dirty_frames(),
                    "can_undo": self.can_undo(), "can_redo": self.can_redo(),
                    "last_change": hist[-1]["what"] if hist else None, "version": self.version}

    # -- objects ------------------------------------------------------------------------------
    def add_object(self, name: str | None = None, color: str | None = None) -> dict[str, Any]:
        """A new object with the lowest free id (1..255)."""
        with self._lock:
            used = set(self.object_ids())
            free = [i for i in range(1, MAX_OBJECTS + 1) if i not in used]
            if not free:
                raise InputError(f"a project holds at most {MAX_OBJECTS} objects")
            oid = free[0]
            obj = {"id": oid, "name": _check_name(name or f"object {oid}"),
                   "color": _check_color(color or default_color(oid))}
            self._change_objects(f"add object {oid}", [*self._state["objects"], obj])
            return dict(obj)

    def update_object(self, obj_id: int, *, name: str | None = None, color: str | None = None) -> dict[str, Any]:
        """Rename and/or recolour object ``obj_id``."""
        with self._lock:
            objs = copy.deepcopy(self._state["objects"])
            obj = next((o for o in objs if o["id"] == obj_id), None)
            if obj is None:
                raise InputError(f"no object {obj_id}")
            if name is not None:
                obj["name"] = _check_name(name)
            if color is not None:
                obj["color"] = _check_color(color)
            self._change_objects(f"edit object {obj_id}", objs)
            return dict(obj)

    def delete_object(self, obj_id: int) -> None:
        """Remove object ``obj_id`` and its pixels from every frame (one undo step)."""
        with self._lock:
            self._require_idle()
            objs = [o for o in self._state["objects"] if o["id"] != obj_id]
            if len(objs) == len(self._state["objects"]):
                raise InputError(f"no object {obj_id}")
            entry = self._entry(f"delete object {obj_id}")
            entry["objects"] = [copy.deepcopy(self._state["objects"]), objs]
            self._state["objects"] = objs
            for key in list(self._state["frames"]):
                ref, status = self._state["frames"][key]
                m = read_mask(self.folder / MASKS / ref, binary_255_is_object=False).copy()
                if (m == obj_id).any():
                    m[m == obj_id] = 0
                    self._put_frame(entry, int(key), m if m.any() else None, status)
            self._commit(entry)

    def _change_objects(self, what: str, objs: list[dict[str, Any]]) -> None:
        entry = self._entry(what)
        entry["objects"] = [copy.deepcopy(self._state["objects"]), copy.deepcopy(objs)]
        self._state["objects"] = objs
        self._commit(entry)

    # -- masks --------------------------------------------------------------------------------
    def set_user_mask(self, index: int, labels: np.ndarray, what: str = "edit") -> None:
        """Frame ``index`` gets ``labels`` as set by the user (one undo step)."""
        self._check_index(index)
        labels = self._check_labels(labels)
        with self._lock:
            entry = self._entry(f"{what} on frame {index}")
            self._put_frame(entry, index, labels if labels.any() else None, USER)
            self._commit(entry)

    def begin_propagation(self, what: str) -> None:
        """Start recording a propagation as one undo step (see :meth:`put_propagated`)."""
        with self._lock:
            self._require_idle()
            self._open_entry = self._entry(what)
            self._state["history"].append(self._open_entry)
            self._state["undone"] = []

    def put_propagated(self, index: int, labels: np.ndarray, lost: list[int]) -> bool:
        """Frame ``index`` gets propagated ``labels`` unless the user set it (then False: the
        user's masks are never overwritten). Saved at the latest on :meth:`end_propagation`."""
        labels = self._check_labels(labels)
        with self._lock:
            entry = self._open_entry
            if entry is None:
                raise ArgumentError("no propagation is being recorded")
            if self.status(index) == USER:
                return False
            self._put_frame(entry, index, labels, PROPAGATED)
            record = entry.setdefault("lost", {})
            key = str(index)
            if key in record:
                record[key][1] = sorted(lost)
            else:
                record[key] = [self._state["lost"].get(key, []), sorted(lost)]
            self._set_lost(index, lost)
            self.version += 1
            return True

    def save_progress(self) -> None:
        with self._lock:
            self._save()

    def end_propagation(self, anchors: list[int]) -> None:
        """Finish the propagation step: the ``anchors`` it started from are clean again."""
        with self._lock:
            entry = self._open_entry
            self._open_entry = None
            if entry is not None:
                before = self.dirty_frames()
                after = [t for t in before if t not in anchors]
                entry["dirty"] = [before, after]
                self._state["dirty"] = after
                if not entry["frames"] and before == after:
                    self._state["history"].remove(entry)
            self._trim_history()
            self._save()
            self.version += 1

    def undo(self) -> str:
        """Undo the last change; returns what it was."""
        with self._lock:
            self._require_idle()
            if not self._state["history"]:
                raise InputError("nothing to undo")
            entry = self._state["history"].pop()
            self._apply(entry, 0)
            self._state["undone"].append(entry)
            self._save()
            self.version += 1
            return str(entry["what"])

    def redo(self) -> str:
        """Redo the last undone change; returns what it was."""
        with self._lock:
            self._require_idle()
            if not self._state["undone"]:
                raise InputError("nothing to redo")
            entry = self._state["undone"].pop()
            self._apply(entry, 1)
            self._state["history"].append(entry)
            self._save()
            self.version += 1
            return str(entry["what"])

    # -- internals ----------------------------------------------------------------------------
    def _entry(self, what: str) -> dict[str, Any]:
        return {"what": what, "time": time.time(), "frames": {}}

    def _require_idle(self) -> None:
        if self._open_entry is not None:
            raise InputError("a propagation is running: wait for it or cancel it first")

    def _put_frame(self, entry: dict[str, Any], index: int, labels: np.ndarray | None, status: str) -> None:
        """Point frame ``index`` at a new revision of ``labels`` (None: no mask), recorded in ``entry``."""
        key = str(index)
        old = self._state["frames"].get(key)
        new = None
        if labels is not None:
            name = f"{index:05d}.{self._next_rev()}.png"
            with atomic_path(self.folder / MASKS / name, force=True) as tmp:
                write_mask(tmp, labels)
            new = [name, status]
        rec = entry["frames"].setdefault(key, [copy.deepcopy(old), None])
        rec[1] = new
        if new is None:
            self._state["frames"].pop(key, None)
        else:
            self._state["frames"][key] = new
        if status == USER:
            dirty = set(self._state["dirty"])
            was_dirty = index in dirty
            dirty.add(index) if new is not None else dirty.discard(index)
            self._state["dirty"] = sorted(dirty)
            entry.setdefault("dirty_frames", {})[key] = [was_dirty, new is not None]

    def _set_lost(self, index: int, lost: list[int]) -> None:
        if lost:
            self._state["lost"][str(index)] = sorted(lost)
        else:
            self._state["lost"].pop(str(index), None)

    def _apply(self, entry: dict[str, Any], side: int) -> None:
        """Put back side 0 (before) or 1 (after) of ``entry``."""
        for key, pair in entry["frames"].items():
            if pair[side] is None:
                self._state["frames"].pop(key, None)
            else:
                self._state["frames"][key] = list(pair[side])
        for key, pair in entry.get("lost", {}).items():
            self._set_lost(int(key), pair[side])
        if "objects" in entry:
            self._state["objects"] = copy.deepcopy(entry["objects"][side])
        dirty = set(self._state["dirty"])
        for key, pair in entry.get("dirty_frames", {}).items():
            dirty.add(int(key)) if pair[side] else dirty.discard(int(key))
        if "dirty" in entry:
            dirty = set(entry["dirty"][side])
        self._state["dirty"] = sorted(dirty)

    def _commit(self, entry: dict[str, Any]) -> None:
        self._state["history"].append(entry)
        self._state["undone"] = []
        self._trim_history()
        self._save()
        self.version += 1

    def _trim_history(self) -> None:
        """Keep at most :data:`HISTORY_LIMIT` undo steps and :data:`HISTORY_FRAMES` frame records
        (the state file and the kept mask revisions stay bounded on long videos)."""
        hist = self._state["history"]
        if len(hist) > HISTORY_LIMIT:
            del hist[: len(hist) - HISTORY_LIMIT]
        total = sum(len(e["frames"]) for e in hist)
        while len(hist) > 1 and total > HISTORY_FRAMES and hist[0] is not self._open_entry:
            total -= len(hist.pop(0)["frames"])

    def _next_rev(self) -> int:
        rev = self._rev
        self._rev += 1
        self._state["next_rev"] = self._rev
        return rev

    def _save(self) -> None:
        data = json.dumps(self._state, separators=(",", ":")).encode()
        state = self.folder / STATE
        if state.is_file():
            with contextlib.suppress(OSError):
                write_bytes_atomic(self.folder / PREVIOUS, state.read_bytes())
        write_bytes_atomic(state, data)

    def _referenced(self) -> set[str]:
        refs = {ref for ref, _ in self._state["frames"].values()}
        for entry in [*self._state["history"], *self._state["undone"]]:
            for pair in entry["frames"].values():
                refs.update(side[0] for side in pair if side is not None)
        return refs

    def _collect_garbage(self) -> None:
        """Remove mask revisions nothing refers to (left by a killed run or a trimmed history);
        those of the previous state are kept too."""
        refs = self._referenced()
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            prev = json.loads((self.folder / PREVIOUS).read_text(encoding="utf-8"))
            refs.update(ref for ref, _ in prev["frames"].values())
        for name in _listdir(self.folder / MASKS):
            if _MASK_NAME.match(name) and name not in refs:
                with contextlib.suppress(OSError):
                    os.unlink(self.folder / MASKS / name)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.frame_count:
            raise InputError(f"frame {index} is outside 0..{self.frame_count - 1}")

    def _check_labels(self, labels: np.ndarray) -> np.ndarray:
        s = self.source
        lab = np.asarray(labels)
        if lab.shape != (s.height, s.width):
            raise InputError(f"mask has shape {lab.shape} but the video is {s.width}x{s.height}")
        lab = lab.astype(np.uint8)
        unknown = set(np.unique(lab).tolist()) - {0} - set(self.object_ids())
        if unknown:
            raise InputError(f"mask holds ids {sorted(unknown)} that are not objects of this project")
        return lab


def _listdir(d: Path) -> Iterator[str]:
    try:
        yield from os.listdir(d)
    except OSError:
        return


def _check_name(name: str) -> str:
    name = str(name).strip()
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise InputError("an object name must be 1..100 printable characters")
    return name


def _check_color(color: str) -> str:
    if not _COLOR.match(str(color)):
        raise InputError(f"colour {color!r} is not #rrggbb")
    return str(color).lower()


def _check_state(state: Any) -> None:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"not a format-{FORMAT} project state")
    for key in ("source", "objects", "frames", "lost", "dirty", "history", "undone"):
        if key not in state:
            raise KeyError(key)
    SourceInfo(**state["source"])
    for ref, status in state["frames"].values():
        if not _MASK_NAME.match(ref) or status not in (USER, PROPAGATED):
            raise ValueError(f"bad frame entry {ref!r}")
