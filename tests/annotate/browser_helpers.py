"""Running `vidseg annotate` in a subprocess on a free port, and finding Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright cannot download its own browser here), or None."""
    env = os.environ.get("VIDSEG_CHROMIUM")
    for c in ([env] if env else []) + list(CHROMIUM_CANDIDATES):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    found = shutil.which("chromium")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``vidseg annotate VIDEO --no-browser`` in a subprocess."""

    def __init__(self, video: Path, project: Path, engine: str = "classical") -> None:
        self.video, self.project, self.engine = video, project, engine
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vidseg", "annotate", str(self.video), "--project", str(self.project),
             "--port", str(self.port), "--no-browser", "-e", self.engine, "-q"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise RuntimeError(f"vidseg annotate exited with {self.proc.returncode}: {out}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/state", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("vidseg annotate did not start in time")

    def kill(self) -> None:
        """SIGKILL: the harshest stop; the project must survive it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


@contextlib.contextmanager
def running(video: Path, project: Path, engine: str = "classical") -> Iterator[Server]:
    s = Server(video, project, engine).start()
    try:
        yield s
    finally:
        s.stop()
