"""kill -9 of the driver or of a pool worker mid-batch: nothing done is lost, nothing unfinished
looks finished, and every video ends up done exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import vidseg
from tests.batch.conftest import Clip
from vidseg.batch.state import STATE_NAME
from vidseg.batch.worker import MARKER, digest, read_marker

SRC = str(Path(vidseg.__file__).resolve().parents[1])


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("VIDSEG_DEBUG", None)
    return env


def _query(out: Path, sql: str) -> list[tuple[object, ...]]:
    path = out / STATE_NAME
    if not path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return list(db.execute(sql))
        finally:
            db.close()
    except sqlite3.Error:
        return []


def _wait(predicate: Callable[[], object], proc: subprocess.Popen[bytes], timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert proc.poll() is None, "the batch ended before the moment to kill it"
        time.sleep(0.05)
    raise AssertionError("timed out")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _finished_outputs_are_whole(out: Path) -> list[str]:
    """Every OUT/<name>/ has its marker and the files it lists; nothing else looks finished."""
    names = []
    for d in out.iterdir():
        if d.name.startswith(".vidseg-tmp-") or d.name.startswith("batch-state"):
            continue
        assert d.is_dir() and ".partial" not in d.name, d
        marker = read_marker(d)
        assert marker is not None and marker["checksum"] == digest(d)[0], d
        names.append(d.name)
    return names


def _batch(src: Path, out: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "vidseg", "batch", "track", str(src), "-o", str(out), "-e", "classical", "-q",
            *more]


def _ray_or_skip() -> list[str]:
    pytest.importorskip("ray", reason="Ray is not installed (the `ray` extra: pip install 'vidseg[ray]')")
    return ["--ray", "--workers", "1"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["pool", "ray"])
def test_driver_killed_then_rerun(tmp_path: Path, make_clips: Callable[..., list[Clip]], backend: str) -> None:
    how = _ray_or_skip() if backend == "ray" else ["--workers", "1"]
    clips = make_clips(tmp_path / "in", 6, frames=60)
    out = tmp_path / "out"
    proc = subprocess.Popen(_batch(tmp_path / "in", out, *how), env=_env(), stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: len(_query(out, "SELECT name FROM videos WHERE status = 'done'")) >= 2, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    workers = [int(str(w).split(":")[1]) for (w,) in _query(out, "SELECT worker FROM videos WHERE worker IS NOT NULL")
               if ":" in str(w)]
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers)  # the workers (pool processes, Ray actors) die with their driver
    done_before = {str(n) for (n,) in _query(out, "SELECT name FROM videos WHERE status = 'done'")}
    assert done_before <= set(_finished_outputs_are_whole(out))
    assert len(done_before) < len(clips)
    rerun = subprocess.run(_batch(tmp_path / "in", out, *how), env=_env(), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(_finished_outputs_are_whole(out)) == sorted(c.name for c in clips)
    events = _query(out, "SELECT name, event FROM events")
    finished = Counter(str(n) for n, e in events if e in ("done", "adopted"))
    assert finished == Counter({c.name: 1 for c in clips})  # every video done exactly once
    starts = Counter(str(n) for n, e in events if e == "start")
    assert all(starts[n] == 1 for n in done_before)  # nothing done was redone
    assert not list(out.glob(".vidseg-tmp-*"))
    for clip in clips:
        assert len(list((out / clip.name / "masks").glob("*.png"))) == clip.labels.shape[0]
        assert (out / clip.name / MARKER).is_file()


@pytest.mark.slow
def test_pool_worker_killed_mid_batch(tmp_path: Path, make_clips: Callable[..., list[Clip]]) -> None:
    clips = make_clips(tmp_path / "in", 4, frames=120)
    out = tmp_path / "out"
    proc = subprocess.Popen(_batch(tmp_path / "in", out, "--workers", "2"), env=_env(), stderr=subprocess.PIPE)
    try:
        rows = _wait(lambda: _query(out, "SELECT name, worker FROM videos WHERE status = 'running'"), proc)
        assert isinstance(rows, list)
        victim = int(str(rows[0][1]).split(":")[1])
        time.sleep(0.2)
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = _query(out, "SELECT name, event, detail FROM events")
    retries = [(n, d) for n, e, d in events if e == "retry"]
    assert len(retries) == 1 and f"worker process {victim} died (killed by signal 9)" in str(retries[0][1])
    finished = Counter(str(n) for n, e, _ in events if e == "done")
    assert finished == Counter({c.name: 1 for c in clips})
    assert sorted(_finished_outputs_are_whole(out)) == sorted(c.name for c in clips)
    assert not list(out.glob(".vidseg-tmp-*"))  # the killed worker's temporary went with the retry
