"""The JSON API through FastAPI's test client: edits, propagation, the MiVOS rule, undo/redo,
exports, and the security rules (token, path confinement, size limits, JSON errors)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the annotate extra (fastapi) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from vidseg.annotate.server import create_app  # noqa: E402
from vidseg.annotate.session import AnnotateSession  # noqa: E402
from vidseg.eval.metrics import jaccard  # noqa: E402
from vidseg.io.palette import read_mask  # noqa: E402

from .conftest import Clip, N  # noqa: E402


@pytest.fixture()
def session(clip: Clip) -> Iterator[AnnotateSession]:
    s = AnnotateSession(clip.path, engine="classical")
    yield s
    s.close()


@pytest.fixture()
def client(session: AnnotateSession) -> TestClient:
    return TestClient(create_app(session), raise_server_exceptions=False)


def _click(client: TestClient, clip: Clip, t: int, obj: int = 1, positive: bool = True) -> dict:
    x, y = clip.interior(t, obj)
    r = client.post(f"/api/frames/{t}/click", json={"object": obj, "x": x, "y": y, "positive": positive})
    assert r.status_code == 200, r.text
    return r.json()


def _propagate(client: TestClient, session: AnnotateSession, **body) -> dict:
    r = client.post("/api/propagate", json=body)
    assert r.status_code == 200, r.text
    assert session.propagator.wait(120)
    state = client.get("/api/state").json()
    assert state["job"]["state"] == "idle" and state["job"]["error"] is None
    return state


def test_click_propagate_export_matches_the_truth(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    client.post("/api/objects", json={"name": "ellipse"})
    _click(client, clip, 0)
    assert jaccard(clip.labels(0) == 1, session.project.mask(0) == 1) > 0.8
    state = _propagate(client, session)
    assert state["timeline"]["user"] == [0] and state["timeline"]["propagated"] == list(range(1, N))
    r = client.post("/api/export", json={"format": "davis"})
    assert r.json() == {"format": "davis", "path": "export/davis"}
    folder = session.project.folder / "export/davis/Annotations/480p/clip"
    js = [jaccard(clip.labels(t) == 1, read_mask(folder / f"{t:05d}.png") == 1) for t in range(N)]
    assert np.mean(js) > 0.75
    assert len(list((session.project.folder / "export/davis/JPEGImages/480p/clip").glob("*.jpg"))) == N


def test_correction_repropagates_only_up_to_the_neighbouring_user_frames(
        client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    client.post("/api/objects", json={})
    _click(client, clip, 0)
    _click(client, clip, 12)
    _propagate(client, session)
    p = session.project
    before = {t: p.revision(t) for t in range(N)}
    user_masks = {t: p.mask(t).copy() for t in (0, 12)}
    _click(client, clip, 6, positive=True)  # a correction on frame 6
    state = _propagate(client, session)
    assert state["timeline"]["user"] == [0, 6, 12]
    changed = sorted(t for t in range(N) if p.revision(t) != before[t])
    # every frame between the neighbours 0 and 12 blends the passes from both sides of it
    assert changed == list(range(1, 12))
    for t, m in user_masks.items():
        assert np.array_equal(p.mask(t), m)  # never overwritten


def test_undo_and_redo(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    client.post("/api/objects", json={})
    _click(client, clip, 3)
    first = session.project.mask(3).copy()
    x, y = clip.interior(3, 2)  # a positive click on the other object: the mask grows there
    client.post("/api/frames/3/click", json={"object": 1, "x": x, "y": y})
    assert not np.array_equal(session.project.mask(3), first)
    r = client.post("/api/undo")
    assert r.status_code == 200 and r.json()["undone"].startswith("positive click on frame 3")
    assert np.array_equal(session.project.mask(3), first)
    assert client.post("/api/redo").status_code == 200
    assert not np.array_equal(session.project.mask(3), first)
    for _ in range(3):  # the two clicks and adding the object
        assert client.post("/api/undo").status_code == 200
    r = client.post("/api/undo")
    assert r.status_code == 400 and r.json()["error"] == "nothing to undo"


def test_concurrent_propagate_requests_start_one_job(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    client.post("/api/objects", json={})
    _click(client, clip, 0)
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        barrier.wait()
        codes.append(client.post("/api/propagate", json={}).status_code)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert session.propagator.wait(120)
    assert sorted(codes) == [200, 409, 409, 409]
    hist = [e for e in session.project._state["history"] if e["what"].startswith("propagate")]
    assert len(hist) == 1
    # while a job ran, an undo is refused rather than mixed with it; afterwards it works
    assert client.post("/api/undo").json()["undone"].startswith("propagate")


def test_cancel_keeps_what_was_done(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    client.post("/api/objects", json={})
    _click(client, clip, 0)
    client.post("/api/propagate", json={})
    client.post("/api/cancel")
    assert session.propagator.wait(120)
    job = client.get("/api/state").json()["job"]
    assert job["state"] == "idle" and job["done"] <= N - 1
    assert session.project.dirty_frames() in ([0], [])  # only a complete job marks its anchors clean


@pytest.mark.parametrize("path", ["../clip.mp4", "%2e%2e/clip.mp4", "..%2fclip.mp4", "masks/../../clip.mp4",
                                  "/etc/passwd", "%2Fetc%2Fpasswd", "link/clip.mp4"])
def test_files_stay_inside_the_project(client: TestClient, session: AnnotateSession, path: str) -> None:
    (session.project.folder / "link").symlink_to(session.project.folder.parent)
    r = client.get(f"/api/files/{path}")
    assert r.status_code in (400, 404) and "error" in r.json()
    assert b"ftyp" not in r.content


@pytest.mark.parametrize("out", ["../outside", "/tmp/outside", "link/outside", "."])
def test_export_paths_stay_inside_the_project(client: TestClient, session: AnnotateSession, out: str) -> None:
    (session.project.folder / "link").symlink_to(session.project.folder.parent)
    r = client.post("/api/export", json={"format": "coco", "out": out})
    assert r.status_code == 400 and "error" in r.json()
    assert not (session.project.folder.parent / "outside").exists()


def test_files_inside_the_project_are_served(client: TestClient, session: AnnotateSession) -> None:
    r = client.get("/api/files/project.json")
    assert r.status_code == 200 and b'"format"' in r.content


def test_a_token_is_required_on_a_non_local_host(session: AnnotateSession) -> None:
    client = TestClient(create_app(session, token="s3cret"), raise_server_exceptions=False)
    for path in ("/", "/api/state", "/api/events", "/api/frames/0/image.jpg", "/static/app.js"):
        r = client.get(path)
        assert r.status_code == 401 and "token" in r.json()["error"], path
    assert client.get("/api/state?token=wrong").status_code == 401
    assert client.post("/api/objects", json={}).status_code == 401
    assert client.get("/api/state?token=s3cret").status_code == 200
    assert client.get("/api/state", headers={"X-Vidseg-Token": "s3cret"}).status_code == 200


def test_oversized_requests_are_refused(session: AnnotateSession) -> None:
    client = TestClient(create_app(session, max_body=2000, max_upload=3000), raise_server_exceptions=False)
    client.post("/api/objects", json={})
    big = {"object": 1, "points": [[1.0, 1.0]] * 500, "radius": 3}
    r = client.post("/api/frames/0/stroke", json=big)
    assert r.status_code == 413 and "larger than 2000" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"object": 1, "points": ['
        for _ in range(400):
            yield b"[1.0, 1.0],"
        yield b"[1.0, 1.0]]}"

    r = client.post("/api/frames/0/stroke", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.put("/api/frames/0/mask.png", content=os.urandom(4000), headers={"Content-Type": "image/png"})
    assert r.status_code == 413


@pytest.mark.parametrize("method, path, body, status, message", [
    ("post", "/api/frames/0/click", {"object": 1, "x": 500, "y": 5}, 400, "outside the 160x120 frame"),
    ("post", "/api/frames/99/click", {"object": 1, "x": 5, "y": 5}, 404, "outside 0..15"),
    ("post", "/api/frames/0/click", {"object": 2, "x": 5, "y": 5}, 400, "no object 2"),
    ("post", "/api/frames/0/click", {"object": 1}, 422, "x"),
    ("post", "/api/frames/0/box", {"object": 1, "box": [5, 5, 5, 5]}, 400, "empty"),
    ("post", "/api/propagate", {}, 400, "no frame has a mask"),
    ("post", "/api/propagate", {"direction": "up"}, 400, "unknown direction"),
    ("post", "/api/export", {"format": "gif"}, 400, "unknown export format"),
    ("patch", "/api/objects/1", {"color": "blue"}, 400, "#rrggbb"),
    ("delete", "/api/objects/9", None, 400, "no object 9"),
    ("get", "/api/nothing", None, 404, "Not Found"),
    ("get", "/static/../../project.json", None, 404, ""),
])
def test_errors_are_json(client: TestClient, method: str, path: str, body, status: int, message: str) -> None:
    client.post("/api/objects", json={})
    r = client.request(method.upper(), path, json=body) if body is not None else client.request(method.upper(), path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert message in r.json()["error"]
    assert "Traceback" not in r.text


def test_a_cross_site_form_cannot_change_anything(client: TestClient) -> None:
    r = client.post("/api/objects", content=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = client.post("/api/objects", content=b'{"name": "x"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert client.get("/api/state").json()["objects"] == []


def test_objects_brush_eraser_box_and_mask_upload(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    o = client.post("/api/objects", json={"name": "cat", "color": "#00ff00"}).json()["object"]
    assert o == {"id": 1, "name": "cat", "color": "#00ff00"}
    assert client.patch("/api/objects/1", json={"name": "dog"}).json()["object"]["name"] == "dog"
    client.post("/api/frames/2/stroke", json={"object": 1, "points": [[10, 10], [30, 10]], "radius": 4})
    m = session.project.mask(2)
    assert m[10, 20] == 1 and m[10, 60] == 0
    client.post("/api/frames/2/stroke", json={"object": 1, "points": [[20, 10]], "radius": 3, "erase": True})
    assert session.project.mask(2)[10, 20] == 0 and session.project.mask(2)[10, 12] == 1
    x0, y0 = np.argwhere(clip.labels(4) == 1).min(0)[::-1]
    x1, y1 = np.argwhere(clip.labels(4) == 1).max(0)[::-1]
    client.post("/api/frames/4/box", json={"object": 1, "box": [int(x0) - 4, int(y0) - 4, int(x1) + 5, int(y1) + 5]})
    assert jaccard(clip.labels(4) == 1, session.project.mask(4) == 1) > 0.7
    png = client.get("/api/frames/4/mask.png").content
    r = client.put("/api/frames/7/mask.png", content=png, headers={"Content-Type": "image/png"})
    assert r.status_code == 200 and np.array_equal(session.project.mask(7), session.project.mask(4))
    assert client.get("/api/frames/7/overlay.png").content[:4] == b"\x89PNG"
    assert client.delete("/api/objects/1").status_code == 200
    assert session.project.mask(7) is None


def test_page_and_static_files_are_served(client: TestClient) -> None:
    page = client.get("/").text
    for hook in ("frame-view", "frame-slider", "frame-index", "object-new", "propagate", "status", "export", "undo"):
        assert f'data-testid="{hook}"' in page
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert "http" not in client.get("/static/style.css").text  # no CDN


def test_all_exports(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    client.post("/api/objects", json={"name": "ellipse"})
    _click(client, clip, 0)
    _propagate(client, session)
    out = {}
    for fmt in ("youtube-vos", "coco", "per-object", "overlay", "training"):
        r = client.post("/api/export", json={"format": fmt, "width": 80, "height": 60, "gray": True})
        assert r.status_code == 200, r.text
        out[fmt] = session.project.folder / r.json()["path"]
    import json as _json

    meta = _json.loads((out["youtube-vos"] / "meta.json").read_text())
    assert meta["videos"]["clip"]["objects"]["1"]["category"] == "ellipse"
    coco = _json.loads(out["coco"].read_text())
    assert len(coco["images"]) == N and {a["object_id"] for a in coco["annotations"]} == {1}
    assert len(list((out["per-object"] / "1").glob("*.png"))) == N
    from vidseg.io.reader import open_video

    with open_video(out["overlay"]) as v, open_video(clip.path) as src:
        assert len(v) == N and v.info.has_audio
        assert [f.pts for f in v] == [f.pts for f in src]
    manifest = _json.loads((out["training"] / "manifest.json").read_text())
    assert manifest["size"] == [80, 60] and manifest["channels"] == 1
    assert manifest["split"]["train"] + manifest["split"]["val"] == N and manifest["split"]["val"] > 0
    from PIL import Image

    with Image.open(next((out["training"] / "train" / "images").glob("*.png"))) as im:
        assert im.size == (80, 60) and im.mode == "L"


def test_while_a_job_runs_edits_work_and_undo_waits(client: TestClient, session: AnnotateSession, clip: Clip) -> None:
    from vidseg.annotate.propagate import Propagator
    from vidseg.vos.engines import make_tracker

    gate = threading.Event()

    class Gated:  # the classical engine, held at each step until the test lets it go
        def __init__(self) -> None:
            self.inner = make_tracker("classical")

        def step(self, image, mask=None, objects=None):  # type: ignore[no-untyped-def]
            if mask is None:
                gate.wait(30)
            return self.inner.step(image, mask, objects)

        def reset(self) -> None:
            self.inner.reset()

        def probabilities(self):  # type: ignore[no-untyped-def]
            return self.inner.probabilities()

    session.propagator = Propagator(session.project, clip.path, on_change=session.notify, tracker_factory=Gated)
    client.post("/api/objects", json={})
    _click(client, clip, 0)
    assert client.post("/api/propagate", json={}).json()["job"]["state"] == "running"
    r = client.post("/api/undo")
    assert r.status_code == 400 and "propagation is running" in r.json()["error"]
    _click(client, clip, 9)  # the page stays usable: a click on a frame ahead of the job
    gate.set()
    assert session.propagator.wait(120)
    p = session.project
    assert p.status(9) == "user" and p.user_frames() == [0, 9]
    assert client.post("/api/undo").json()["undone"].startswith("positive click on frame 9")


def test_a_session_that_cannot_start_says_why_on_the_page() -> None:
    from vidseg.annotate.server import create_error_app

    client = TestClient(create_error_app("clip.mp4: this project was made for another video"))
    assert 'data-testid="status"' in client.get("/").text
    for method, path in (("GET", "/api/state"), ("POST", "/api/propagate")):
        r = client.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 503 and r.json() == {"error": "clip.mp4: this project was made for another video"}


def test_a_pass_first_shows_the_engine_the_nearest_user_frames(client: TestClient, session: AnnotateSession,
                                                                clip: Clip) -> None:
    from vidseg.annotate.propagate import Propagator
    from vidseg.vos.engines import make_tracker

    steps: list[tuple[int, bool]] = []  # (frame, given a mask) in the order the engine saw them
    images = {t: session.frames.image(t) for t in range(N)}

    class Recording:
        def __init__(self) -> None:
            self.inner = make_tracker("classical")

        def step(self, image, mask=None, objects=None):  # type: ignore[no-untyped-def]
            t = next(k for k, im in images.items() if np.array_equal(im, image))
            steps.append((t, mask is not None))
            return self.inner.step(image, mask, objects)

        def reset(self) -> None:
            steps.append((-1, False))
            self.inner.reset()

        def probabilities(self):  # type: ignore[no-untyped-def]
            return self.inner.probabilities()

    session.propagator = Propagator(session.project, clip.path, on_change=session.notify,
                                    tracker_factory=Recording, prime=1)
    client.post("/api/objects", json={})
    _click(client, clip, 0)
    _click(client, clip, 12)
    _propagate(client, session, frames=[12])
    # each pass: a reset, frame 0 (the nearest other user-set frame) given, then 12, then the
    # frames it propagates to: forward to the end, backward down to 1 (next to user-set frame 0)
    primed = [(-1, False), (0, True), (12, True)]
    assert steps == primed + [(t, False) for t in (13, 14, 15)] + primed + [(t, False) for t in range(11, 0, -1)]
