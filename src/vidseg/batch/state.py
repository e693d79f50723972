"""The batch's state file, ``OUT/batch-state.sqlite``: one row per video (pending, running, done
with frames, fps, seconds and the outputs' checksum, or failed with the one-line error and the
attempts made), the settings the batch was started with, and a log of events (start, done,
failed, lost, recovered, adopted) that says what happened to each video and where.

SQLite commits are atomic and durable (``synchronous=FULL``): a ``kill -9`` of the driver at any
moment leaves the last committed state. Only the driver writes it, and only one driver at a time
(an exclusive ``flock`` on ``batch-state.lock``, released by the system when the process dies).
Rows still ``running`` when a driver opens the file were left by a driver that died: they are
treated as pending (:meth:`BatchState.recover`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidseg.errors import OutputError

STATE_NAME = "batch-state.sqlite"
LOCK_NAME = "batch-state.lock"
STATUSES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    name TEXT PRIMARY KEY, input TEXT NOT NULL, prompt TEXT, fingerprint TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, frames INTEGER, fps REAL,
    seconds REAL, checksum TEXT, error TEXT, worker TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, event TEXT NOT NULL,
    detail TEXT, time REAL NOT NULL);
"""


@dataclass(frozen=True)
class VideoRow:
    """One video's recorded state."""

    name: str
    input: str
    prompt: str | None
    fingerprint: str
    status: str
    attempts: int
    frames: int | None
    fps: float | None
    seconds: float | None
    checksum: str | None
    error: str | None
    worker: str | None


class BatchState:
    """The state file of the batch in ``out`` (created when missing), locked for this process."""

    def __init__(self, out: str | Path) -> None:
        self.folder = Path(out)
        self.path = self.folder / STATE_NAME
        self._lock_fd = self._lock()
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._unlock()
            raise OutputError(f"cannot use the batch state file ({exc}); move it away to start over",
                              self.path) from None

    def _lock(self) -> int:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot write the batch state ({exc.strerror})", self.folder) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise OutputError(f"another vidseg batch ({holder}) is running on this folder; wait for it "
                              "or stop it first", self.folder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        return fd

    def _unlock(self) -> None:
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = -1

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        self._unlock()

    def __enter__(self) -> BatchState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- settings ----------------------------------------------------------------------------------
    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- videos ------------------------------------------------------------------------------------
    def row(self, name: str) -> VideoRow | None:
        r = self.db.execute(f"SELECT {_COLUMNS} FROM videos WHERE name = ?", (name,)).fetchone()
        return None if r is None else VideoRow(*r)

    def rows(self) -> list[VideoRow]:
        return [VideoRow(*r) for r in self.db.execute(f"SELECT {_COLUMNS} FROM videos ORDER BY rowid")]

    def recover(self) -> list[str]:
        """Rows left ``running`` by a driver that died become ``pending``; their names."""
        names = [r[0] for r in self.db.execute("SELECT name FROM videos WHERE status = 'running'")]
        with self._tx() as db:
            for name in names:
                db.execute("UPDATE videos SET status = 'pending', updated = ? WHERE name = ?", (time.time(), name))
                _event(db, name, "recovered", "left running by a driver that stopped")
        return names

    def upsert(self, name: str, input: str, prompt: str | None, fingerprint: str) -> None:
        """Register a video (pending), or update where it comes from; its status is kept."""
        with self._tx() as db:
            db.execute("INSERT INTO videos (name, input, prompt, fingerprint, status, updated) "
                       "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT(name) DO UPDATE SET "
                       "input = excluded.input, prompt = excluded.prompt", (name, input, prompt, fingerprint,
                                                                            time.time()))

    def set_pending(self, name: str, fingerprint: str, why: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE videos SET status = 'pending', fingerprint = ?, updated = ? WHERE name = ?",
                       (fingerprint, time.time(), name))
            _event(db, name, "pending", why)

    def set_running(self, name: str, worker: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE videos SET status = 'running', attempts = attempts + 1, worker = ?, updated = ? "
                       "WHERE name = ?", (worker, time.time(), name))
            _event(db, name, "start", worker)

    def set_done(self, name: str, fingerprint: str, frames: int, seconds: float, checksum: str | None,
                 worker: str, event: str = "done") -> None:
        fps = frames / seconds if seconds > 0 else 0.0
        with self._tx() as db:
            db.execute("UPDATE videos SET status = 'done', fingerprint = ?, frames = ?, fps = ?, seconds = ?, "
                       "checksum = ?, error = NULL, worker = ?, updated = ? WHERE name = ?",
                       (fingerprint, frames, fps, seconds, checksum, worker, time.time(), name))
            _event(db, name, event, worker)

    def set_failed(self, name: str, error: str, worker: str | None = None, *, final: bool = True) -> None:
        """Record a failed attempt: ``failed`` when ``final``, else back to ``pending`` (a retry)."""
        status = "failed" if final else "pending"
        with self._tx() as db:
            db.execute("UPDATE videos SET status = ?, error = ?, worker = COALESCE(?, worker), updated = ? "
                       "WHERE name = ?", (status, error, worker, time.time(), name))
            _event(db, name, "failed" if final else "retry", error)

    def events(self, name: str | None = None) -> list[tuple[str, str, str | None]]:
        """``(name, event, detail)`` in order, of one video or all."""
        if name is None:
            cur = self.db.execute("SELECT name, event, detail FROM events ORDER BY seq")
        else:
            cur = self.db.execute("SELECT name, event, detail FROM events WHERE name = ? ORDER BY seq", (name,))
        return [(r[0], r[1], r[2]) for r in cur]


_COLUMNS = "name, input, prompt, fingerprint, status, attempts, frames, fps, seconds, checksum, error, worker"


def _event(db: sqlite3.Connection, name: str, event: str, detail: str | None) -> None:
    db.execute("INSERT INTO events (name, event, detail, time) VALUES (?, ?, ?, ?)", (name, event, detail, time.time()))


def read_settings(out: str | Path) -> dict[str, Any] | None:
    """The settings recorded by the batch in ``out`` (read-only, without the lock), or None."""
    path = Path(out) / STATE_NAME
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise OutputError(f"cannot read the batch state file ({exc})", path) from None
    value = None if row is None else json.loads(row[0])
    return value if isinstance(value, dict) else None
