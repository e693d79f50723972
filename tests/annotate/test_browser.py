"""The page in a real browser (Playwright driving Debian's Chromium): click an object, propagate,
correct a later frame, undo, export, compare the export with the clip's exact masks; and a server
killed mid-session (SIGKILL) and started again loses nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from vidseg.eval.metrics import jaccard
from vidseg.io.palette import read_mask

from .browser_helpers import chromium_path, running
from .conftest import Clip, H, N, W

pytest.importorskip("fastapi", reason="the annotate extra (fastapi, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the annotate extra (fastapi, uvicorn) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')")
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install chromium; "
                                                         "or set VIDSEG_CHROMIUM to its path)")


@pytest.fixture(scope="module")
def browser() -> Any:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _click_frame(page: Any, x: float, y: float, *, shift: bool = False) -> None:
    """Click the frame pixel (x, y) in the frame view, whatever the page's scaling."""
    box = page.get_by_test_id("frame-view").bounding_box()
    with page.expect_response(lambda r: "/click" in r.url):
        page.get_by_test_id("frame-view").click(position={"x": (x + 0.5) * box["width"] / W,
                                                          "y": (y + 0.5) * box["height"] / H},
                                                modifiers=["Shift"] if shift else [])


def _go_to(page: Any, t: int) -> None:
    page.get_by_test_id("frame-slider").fill(str(t))
    sync_api.expect(page.get_by_test_id("frame-index")).to_have_text(str(t))


def _propagate(page: Any) -> None:
    with page.expect_response(lambda r: r.url.endswith("/api/propagate")) as info:
        page.get_by_test_id("propagate").click()
    assert info.value.status == 200
    sync_api.expect(page.get_by_test_id("status")).to_contain_text("idle", timeout=120_000)
    sync_api.expect(page.get_by_test_id("status")).to_contain_text("propagated", timeout=120_000)


def _state(url: str) -> dict[str, Any]:
    return httpx.get(url + "/api/state").json()


def test_click_propagate_correct_undo_export(browser: Any, clip: Clip, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with running(clip.path, project) as server:
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(server.url)
        sync_api.expect(page.get_by_test_id("status")).to_contain_text("idle")
        page.get_by_test_id("object-new").click()
        sync_api.expect(page.locator("#objects li")).to_have_count(1)
        _click_frame(page, *clip.interior(0, 1))
        assert _state(server.url)["timeline"]["user"] == [0]
        _propagate(page)
        assert _state(server.url)["timeline"]["propagated"] == list(range(1, N))

        # a correction on a later frame: a positive click on the other object grows the mask
        # there and makes the frame user-set; undo puts the propagated mask back
        t = N - 4
        _go_to(page, t)
        before = httpx.get(f"{server.url}/api/frames/{t}/mask.png").content
        _click_frame(page, *clip.interior(t, 2))
        s = _state(server.url)
        assert t in s["timeline"]["user"] and s["can_undo"]
        assert httpx.get(f"{server.url}/api/frames/{t}/mask.png").content != before
        with page.expect_response(lambda r: r.url.endswith("/api/undo")):
            page.get_by_test_id("undo").click()
        assert t not in _state(server.url)["timeline"]["user"]
        assert httpx.get(f"{server.url}/api/frames/{t}/mask.png").content == before

        # keyboard: arrows move, the frame index follows
        page.get_by_test_id("frame-view").hover()
        page.keyboard.press("ArrowLeft")
        sync_api.expect(page.get_by_test_id("frame-index")).to_have_text(str(t - 1))

        with page.expect_response(lambda r: r.url.endswith("/api/export")) as info:
            page.get_by_test_id("export").click()
        assert info.value.status == 200
        sync_api.expect(page.locator("#message")).to_contain_text("exported davis")
        folder = project / "export" / "davis" / "Annotations" / "480p" / "clip"
        js = [jaccard(clip.labels(k) == 1, read_mask(folder / f"{k:05d}.png") == 1) for k in range(N)]
        assert np.mean(js) > 0.75, js
        page.close()


def test_server_killed_mid_session_loses_nothing(browser: Any, clip: Clip, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with running(clip.path, project) as server:
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(server.url)
        page.get_by_test_id("object-new").click()
        page.get_by_test_id("object-new").click()
        sync_api.expect(page.locator("#objects li")).to_have_count(2)
        page.locator("#objects li").nth(0).click()
        _click_frame(page, *clip.interior(0, 1))
        page.keyboard.press("2")
        _click_frame(page, *clip.interior(0, 2))
        _propagate(page)
        _go_to(page, 5)
        _click_frame(page, *clip.interior(5, 2))
        saved = {k: httpx.get(f"{server.url}/api/frames/{k}/mask.png").content for k in range(N)}
        timeline = _state(server.url)["timeline"]
        server.kill()  # SIGKILL, mid-session
        sync_api.expect(page.get_by_test_id("status")).to_contain_text("disconnected", timeout=20_000)
        server.start()
        page.goto(server.url)
        sync_api.expect(page.locator("#message")).to_contain_text("resumed")
        sync_api.expect(page.locator("#objects li")).to_have_count(2)
        s = _state(server.url)
        assert s["timeline"] == timeline and s["resumed"] and s["can_undo"]
        assert {k: httpx.get(f"{server.url}/api/frames/{k}/mask.png").content for k in range(N)} == saved
        page.close()


def test_the_page_shows_why_a_session_could_not_start(browser: Any) -> None:
    import threading

    import uvicorn

    from vidseg.annotate.server import create_error_app

    from .browser_helpers import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_error_app("proj/project.json: the project state is damaged"),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        page = browser.new_page()
        for _ in range(100):
            try:
                page.goto(f"http://127.0.0.1:{port}/")
                break
            except sync_api.Error:
                page.wait_for_timeout(100)
        sync_api.expect(page.locator("#message")).to_contain_text("the project state is damaged")
        sync_api.expect(page.get_by_test_id("status")).to_contain_text("error")
        page.close()
    finally:
        server.should_exit = True
        thread.join(10)
