"""``vidseg batch --ray`` on a local Ray instance (``ray.init(num_cpus=2)``): a corrupt clip fails
alone, a killed actor's video is retried elsewhere, and the masks equal the local pool's byte for
byte."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import vidseg
from tests.batch.conftest import Clip
from vidseg.batch.state import STATE_NAME
from vidseg.batch.worker import read_marker
from vidseg.cli.main import main

ray = pytest.importorskip("ray", reason="Ray is not installed (the `ray` extra: pip install 'vidseg[ray]')")

SRC = str(Path(vidseg.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local Ray instance with 2 CPUs whose workers import this vidseg; shut down after."""
    if ray.is_initialized():
        ray.shutdown()
    pythonpath = SRC + os.pathsep + os.environ.get("PYTHONPATH", "")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": pythonpath}})
    try:
        yield ray
    finally:
        ray.shutdown()


def _events(out: Path) -> list[tuple[str, str, str | None]]:
    db = sqlite3.connect(f"file:{out / STATE_NAME}?mode=ro", uri=True)
    try:
        return [(str(n), str(e), d) for n, e, d in db.execute("SELECT name, event, detail FROM events ORDER BY seq")]
    finally:
        db.close()


def test_ray_batch_with_a_corrupt_clip(ray_local: Any, tmp_path: Path, make_clips: Callable[..., list[Clip]],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    clips = make_clips(tmp_path / "in", 3, corrupt=True)
    out = tmp_path / "out"
    assert main(["batch", "track", str(tmp_path / "in"), "-o", str(out), "-e", "classical-fast", "--ray", "-q"]) == 1
    assert "1 of 4 video(s) failed, first broken" in capsys.readouterr().err
    done = Counter(n for n, e, _ in _events(out) if e == "done")
    assert done == Counter({c.name: 1 for c in clips})
    assert not (out / "broken").exists()
    assert ray_local.is_initialized()  # a Ray instance the batch joined is left running


def test_local_pool_and_ray_give_identical_masks(ray_local: Any, tmp_path: Path,
                                                 make_clips: Callable[..., list[Clip]]) -> None:
    clips = make_clips(tmp_path / "in", 3)
    common = ["batch", "track", str(tmp_path / "in"), "-e", "fast", "--overlay", "-q"]
    assert main([*common, "-o", str(tmp_path / "local"), "--workers", "2"]) == 0
    assert main([*common, "-o", str(tmp_path / "ray"), "--ray"]) == 0
    for clip in clips:
        a, b = tmp_path / "local" / clip.name / "masks", tmp_path / "ray" / clip.name / "masks"
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir()) and len(names) == clip.labels.shape[0]
        assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
        marker_a, marker_b = read_marker(a.parent), read_marker(b.parent)
        assert marker_a is not None and marker_b is not None
        assert marker_a["files"]["report.json"] == marker_b["files"]["report.json"]


def test_ray_worker_killed_mid_batch(ray_local: Any, tmp_path: Path, make_clips: Callable[..., list[Clip]]) -> None:
    clips = make_clips(tmp_path / "in", 4, frames=120)
    out = tmp_path / "out"
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(main(
        ["batch", "track", str(tmp_path / "in"), "-o", str(out), "-e", "classical", "--ray", "-q"])))
    runner.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and runner.is_alive():
        for _, event, detail in (_events(out) if (out / STATE_NAME).exists() else []):
            if event == "start" and detail and detail.startswith("ray:") and detail[4:].isdigit():
                victim = int(detail[4:])
                break
        time.sleep(0.05)
    assert victim is not None, "no video started on a Ray worker"
    time.sleep(0.2)
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=300)
    assert codes == [0]
    events = _events(out)
    retries = [d for _, e, d in events if e == "retry"]
    assert len(retries) == 1 and "Ray worker died" in str(retries[0])
    assert Counter(n for n, e, _ in events if e == "done") == Counter({c.name: 1 for c in clips})
