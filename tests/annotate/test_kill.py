"""`vidseg annotate` killed with SIGKILL at any moment (here: while a propagation writes masks)
comes back with everything the user set and a consistent project."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from .browser_helpers import Server
from .conftest import Clip, N

pytest.importorskip("uvicorn", reason="the annotate extra (fastapi, uvicorn) is not installed")


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_sigkill_during_propagation_loses_nothing(clip: Clip, tmp_path: Path, delay: float) -> None:
    server = Server(clip.path, tmp_path / "proj").start()
    try:
        api = httpx.Client(base_url=server.url, timeout=30)
        api.post("/api/objects", json={"name": "ellipse"})
        x, y = clip.interior(0, 1)
        api.post("/api/frames/0/click", json={"object": 1, "x": x, "y": y})
        x, y = clip.interior(10, 1)
        api.post("/api/frames/10/click", json={"object": 1, "x": x, "y": y})
        user = {t: api.get(f"/api/frames/{t}/mask.png").content for t in (0, 10)}
        assert api.post("/api/propagate", json={}).status_code == 200
        time.sleep(delay)
        server.kill()
        server.start()
        api = httpx.Client(base_url=server.url, timeout=30)
        state = api.get("/api/state").json()
        assert state["resumed"] and state["objects"][0]["name"] == "ellipse"
        assert state["timeline"]["user"] == [0, 10]
        assert {t: api.get(f"/api/frames/{t}/mask.png").content for t in (0, 10)} == user
        for t in state["timeline"]["propagated"]:  # every frame the state names has its mask file
            assert api.get(f"/api/frames/{t}/mask.png").status_code == 200
        # and the work goes on: propagating again fills every frame
        assert api.post("/api/propagate", json={}).status_code == 200
        for _ in range(300):
            if api.get("/api/state").json()["job"]["state"] == "idle":
                break
            time.sleep(0.1)
        state = api.get("/api/state").json()
        assert sorted(state["timeline"]["propagated"] + state["timeline"]["user"]) == list(range(N))
    finally:
        server.stop()
