"""The HTTP side of ``vidseg annotate``: a FastAPI app serving the page and its JSON API
(documented in ``docs/annotate-api.md``).

Security: the server binds 127.0.0.1 by default; on any other host every request (the page, the
API, the event stream, the pictures) must carry the session's token (``?token=`` or the
``X-Vidseg-Token`` header). Requests that change something must be ``application/json`` (or
``image/png`` for a mask upload), which a cross-site form cannot send. Bodies are limited in
size. Every path the API takes is relative to the project folder and must stay inside it (no
``..``, no absolute path, no symbolic link leading out). Errors are JSON ``{"error": message}``,
never a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from vidseg.annotate.export import FORMATS, TrainingOptions
from vidseg.annotate.propagate import DIRECTIONS, JobBusy
from vidseg.annotate.session import AnnotateSession
from vidseg.errors import FrameIndexError, InputError, OutputError, VidsegError

MAX_BODY = 1 << 20  # bytes: JSON requests
MAX_UPLOAD = 16 << 20  # bytes: a mask PNG
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
STATIC_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "style.css": "text/css; charset=utf-8"}
TOKEN_HEADER = "x-vidseg-token"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS


def static_text(name: str) -> bytes:
    return resources.files("vidseg.annotate").joinpath("static", name).read_bytes()


def confined(root: Path, relative: str) -> Path:
    """``root / relative`` when it stays inside ``root`` (after following links), else
    :class:`InputError`. Absolute paths, ``..`` and NUL bytes are refused outright."""
    rel = str(relative)
    if not rel or "\x00" in rel or rel.startswith(("/", "\\")) or os.path.isabs(rel) or (len(rel) > 1 and rel[1] == ":"):
        raise InputError(f"path {relative!r} must be relative to the project folder")
    parts = Path(rel.replace("\\", "/")).parts
    if any(p == ".." for p in parts):
        raise InputError(f"path {relative!r} must not contain '..'")
    base = root.resolve()
    target = (base / Path(*parts)).resolve()
    if target != base and base not in target.parents:
        raise InputError(f"path {relative!r} leads outside the project folder")
    return target


class _LimitAndGuard:
    """ASGI middleware: body size limits, the token check and the content-type rule, answering
    with JSON before the app sees a bad request."""

    def __init__(self, app: Any, token: str | None, max_body: int, max_upload: int) -> None:
        self.app, self.token, self.max_body, self.max_upload = app, token, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token is not None and not self._token_ok(scope, headers):
            await _json(send, 401, {"error": "missing or wrong token: open the URL vidseg annotate printed"})
            return
        method = scope["method"]
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        upload = ctype == "image/png"
        limit = self.max_upload if upload else self.max_body
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            if ctype not in ("application/json", "image/png", ""):
                await _json(send, 415, {"error": f"content type {ctype!r} is not accepted: send application/json"})
                return
            if ctype == "" and headers.get("content-length", "0") not in ("0", ""):
                await _json(send, 415, {"error": "a request body needs Content-Type application/json"})
                return
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                await _json(send, 400, {"error": "bad Content-Length"})
                return
            if too_big:
                await _json(send, 413, {"error": f"request body is larger than {limit} bytes"})
                return
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        # the body is read here, counted as it arrives (with or without a Content-Length), and
        # handed to the app only when it fits
        body = bytearray()
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                return  # the client went away
            body += msg.get("body", b"")
            if len(body) > limit:
                await _json(send, 413, {"error": f"request body is larger than {limit} bytes"})
                return
            if not msg.get("more_body", False):
                break
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _token_ok(self, scope: Scope, headers: dict[str, str]) -> bool:
        from urllib.parse import parse_qs

        given = headers.get(TOKEN_HEADER)
        if given is None:
            q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (q.get("token") or [None])[0]
        assert self.token is not None
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


# -- request bodies -------------------------------------------------------------------------------
class Click(BaseModel):
    object: int = Field(ge=1, le=255)
    x: float
    y: float
    positive: bool = True

class BoxBody(BaseModel):
    object: int = Field(ge=1, le=255)
    box: tuple[float, float, float, float]

class Stroke(BaseModel):
    object: int = Field(ge=1, le=255)
    points: list[tuple[float, float]] = Field(min_length=1, max_length=10000)
    radius: float = Field(default=8.0, gt=0, le=500)
    erase: bool = False

class NewObject(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    color: str | None = None

class EditObject(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    color: str | None = None

class PropagateBody(BaseModel):
    direction: str = "both"
    frames: list[int] | None = Field(default=None, max_length=100000)

class ExportBody(BaseModel):
    format: str = "davis"
    out: str | None = Field(default=None, max_length=500)
    width: int = Field(default=320, ge=8, le=4096)
    height: int = Field(default=240, ge=8, le=4096)
    gray: bool = False
    val_share: float = Field(default=0.2, ge=0.0, lt=1.0)
    block: int = Field(default=0, ge=0)


def create_app(session: AnnotateSession, *, token: str | None = None, max_body: int = MAX_BODY,
               max_upload: int = MAX_UPLOAD) -> Any:
    """The ASGI app for ``session``. ``token``: required on every request when not None."""
    app = FastAPI(title="vidseg annotate", docs_url=None, redoc_url=None, openapi_url=None)
    project = session.project

    # -- errors: always JSON --------------------------------------------------------------------
    @app.exception_handler(JobBusy)
    async def _busy(request: Request, exc: JobBusy) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=409)

    @app.exception_handler(FrameIndexError)
    async def _index(request: Request, exc: FrameIndexError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=404)

    @app.exception_handler(VidsegError)
    async def _vidseg(request: Request, exc: VidsegError) -> JSONResponse:
        status = 500 if isinstance(exc, OutputError) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        where = ".".join(str(p) for p in errs[0].get("loc", ())) if errs else ""
        msg = errs[0].get("msg", "invalid request") if errs else "invalid request"
        return JSONResponse({"error": f"{where}: {msg}" if where else msg}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"unexpected {type(exc).__name__}: {exc}"}, status_code=500)

    def _frame(i: int) -> int:
        if not 0 <= i < project.frame_count:
            raise FrameIndexError(f"frame {i} is outside 0..{project.frame_count - 1}")
        return i

    # -- the page -----------------------------------------------------------------------------------
    _add_page_routes(app)

    # -- reading --------------------------------------------------------------------------------------
    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return session.state()

    @app.get("/api/frames/{i}/image.jpg")
    def frame_image(i: int) -> Response:
        return Response(session.frames.jpeg(_frame(i)), media_type="image/jpeg",
                        headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/frames/{i}/overlay.png")
    def frame_overlay(i: int) -> Response:
        return Response(session.overlay_png(_frame(i)), media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/api/frames/{i}/mask.png")
    def frame_mask(i: int) -> Response:
        return Response(session.mask_png(_frame(i)), media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/api/frames/{i}")
    def frame_info(i: int) -> dict[str, Any]:
        _frame(i)
        return {"index": i, "status": project.status(i), "lost": project.lost_objects(i)}

    @app.get("/api/files/{path:path}")
    def files(path: str) -> Response:
        target = confined(project.folder, path)
        if not target.is_file():
            return JSONResponse({"error": f"no file {path!r} in the project"}, status_code=404)
        return Response(target.read_bytes(), media_type="application/octet-stream")

    # -- edits ------------------------------------------------------------------------------------------
    @app.post("/api/frames/{i}/click")
    def click(i: int, body: Click) -> dict[str, Any]:
        session.click(_frame(i), body.object, body.x, body.y, body.positive)
        return session.state()

    @app.post("/api/frames/{i}/box")
    def box(i: int, body: BoxBody) -> dict[str, Any]:
        session.box(_frame(i), body.object, body.box)
        return session.state()

    @app.post("/api/frames/{i}/stroke")
    def stroke(i: int, body: Stroke) -> dict[str, Any]:
        session.stroke(_frame(i), body.object, list(body.points), body.radius, body.erase)
        return session.state()

    @app.put("/api/frames/{i}/mask.png")
    async def upload_mask(i: int, request: Request) -> dict[str, Any]:
        data = await request.body()
        await asyncio.to_thread(session.set_mask, _frame(i), data)
        return session.state()

    @app.post("/api/objects")
    def new_object(body: NewObject = Body(default_factory=NewObject)) -> dict[str, Any]:  # noqa: B008
        obj = project.add_object(body.name, body.color)
        session.notify()
        return {"object": obj, "state": session.state()}

    @app.patch("/api/objects/{obj}")
    def edit_object(obj: int, body: EditObject) -> dict[str, Any]:
        out = project.update_object(obj, name=body.name, color=body.color)
        session.notify()
        return {"object": out, "state": session.state()}

    @app.delete("/api/objects/{obj}")
    def delete_object(obj: int) -> dict[str, Any]:
        project.delete_object(obj)
        session.notify()
        return session.state()

    @app.post("/api/undo")
    def undo() -> dict[str, Any]:
        what = project.undo()
        session.notify()
        return {"undone": what, "state": session.state()}

    @app.post("/api/redo")
    def redo() -> dict[str, Any]:
        what = project.redo()
        session.notify()
        return {"redone": what, "state": session.state()}

    # -- jobs -------------------------------------------------------------------------------------------
    @app.post("/api/propagate")
    def propagate(body: PropagateBody = Body(default_factory=PropagateBody)) -> dict[str, Any]:  # noqa: B008
        if body.direction not in DIRECTIONS:
            raise InputError(f"unknown direction {body.direction!r} (choose from {', '.join(DIRECTIONS)})")
        session.propagator.start(body.direction, body.frames)
        session.notify()
        return session.state()

    @app.post("/api/cancel")
    def cancel() -> dict[str, Any]:
        return {"cancelled": session.propagator.cancel(), "state": session.state()}

    @app.post("/api/export")
    def do_export(body: ExportBody = Body(default_factory=ExportBody)) -> dict[str, Any]:  # noqa: B008
        if body.format not in FORMATS:
            raise InputError(f"unknown export format {body.format!r} (choose from {', '.join(FORMATS)})")
        out = confined(project.folder, body.out) if body.out else None
        if out is not None and out == project.folder.resolve():
            raise InputError("an export cannot replace the project folder")
        training = TrainingOptions(body.width, body.height, body.gray, body.val_share, body.block)
        where = session.export(body.format, out, training)
        return {"format": body.format, "path": str(where.resolve().relative_to(project.folder.resolve()))}

    @app.get("/api/events")
    async def events(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            last: str | None = None
            idle = 0.0
            while not await request.is_disconnected():
                payload = json.dumps({"version": project.version, "job": session.propagator.job.as_dict(),
                                      "timeline": project.timeline(), "can_undo": project.can_undo(),
                                      "can_redo": project.can_redo()})
                if payload != last:
                    last, idle = payload, 0.0
                    yield f"event: state\ndata: {payload}\n\n".encode()
                elif idle > 15:
                    idle = 0.0
                    yield b": keep-alive\n\n"
                await asyncio.sleep(0.2)
                idle += 0.2

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return _LimitAndGuard(app, token, max_body, max_upload)


def _add_page_routes(app: Any) -> None:
    """The page itself: ``/`` and its static files, never cached."""

    @app.get("/")
    def index() -> Response:
        return Response(static_text("index.html"), media_type=STATIC_FILES["index.html"],
                        headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
        return Response(static_text(name), media_type=STATIC_FILES[name], headers={"Cache-Control": "no-store"})


def create_error_app(message: str, *, token: str | None = None) -> Any:
    """The page alone, for a session that could not start (a video that cannot be opened, a
    project of another video, a damaged state file): every API call answers ``message``, which
    the page shows."""
    app = FastAPI(title="vidseg annotate", docs_url=None, redoc_url=None, openapi_url=None)

    _add_page_routes(app)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def failed(rest: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=503)

    return _LimitAndGuard(app, token, MAX_BODY, MAX_UPLOAD)
