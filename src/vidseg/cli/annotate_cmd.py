"""``vidseg annotate VIDEO``: the annotation page; ``vidseg annotate export PROJECT``: its exports."""

from __future__ import annotations

import secrets
import socket
import webbrowser
from pathlib import Path
from typing import Any

import click

from vidseg.cli.common import echo, quiet_option, weights_option
from vidseg.errors import InputError, UsageError, VidsegError
from vidseg.vos.engines import engine_descriptions, engine_names

EXPORT_FORMATS = ("davis", "youtube-vos", "coco", "per-object", "overlay", "training")


class _DefaultToOpen(click.Group):
    """``vidseg annotate VIDEO ...`` runs ``open``; ``vidseg annotate export ...`` the export."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "open", self.commands["open"], args
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "VIDEO [OPTIONS]  |  export PROJECT -f FORMAT")


@click.group("annotate", cls=_DefaultToOpen, context_settings={"help_option_names": ["-h", "--help"]})
def annotate() -> None:
    """Annotate a video in the browser: click objects, propagate, correct, export.

    \b
    vidseg annotate clip.mp4                 start the page for clip.mp4 (project: clip.vidseg/)
    vidseg annotate open clip.mp4 --help     every option of the page's server
    vidseg annotate export clip.vidseg --format training --size 320x240 --gray

    Needs the annotate extra: pip install "vidseg[annotate]".
    """


def _port(host: str, port: int) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UsageError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from exc
        return int(s.getsockname()[1])


@annotate.command("open")
@click.argument("source", metavar="VIDEO|FRAMES_DIR", type=click.Path(path_type=Path))
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The project folder holding masks, objects and history (default: VIDEO's name + "
                   "'.vidseg' beside it). An existing project is resumed.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any address other than 127.0.0.1/localhost needs the random token "
                   "printed in the URL on every request.")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port to listen on (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the URL but do not open a browser.")
@click.option("-e", "--engine", type=click.Choice(engine_names()), default="default", show_default=True,
              help="Tracking engine for propagation. " + "; ".join(f"{k}: {v}" for k, v in engine_descriptions().items()))
@weights_option
@quiet_option
def open_cmd(source: Path, project_dir: Path | None, host: str, port: int, no_browser: bool, engine: str,
             weights: str | None, quiet: bool) -> None:
    """Start the annotation page for VIDEO (a video file or a folder of frames)."""
    try:
        import uvicorn  # noqa: F401 - checked here, used by _serve

        from vidseg.annotate.server import create_app, create_error_app, is_local
    except ImportError as exc:
        raise InputError(f"vidseg annotate needs FastAPI and uvicorn ({exc.name} is missing): "
                         'pip install "vidseg[annotate]"') from exc
    from vidseg.annotate.session import AnnotateSession

    say = echo(quiet)
    port = _port(host, port)
    token = None if is_local(host) else secrets.token_urlsafe(18)
    # a wildcard address is not one to browse to: this computer's own address is
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    try:
        session = AnnotateSession(source, project_dir, engine=engine, weights=weights)
    except VidsegError as exc:
        if no_browser:
            raise
        # the page the user is about to see says it too; the command still fails
        click.echo(f"vidseg: error: {exc}", err=True)
        click.echo(f"(the page at {url} shows this error; Ctrl+C to stop)", err=True)
        webbrowser.open(url)
        _serve(create_error_app(str(exc), token=token), host, port)
        raise click.exceptions.Exit(1) from None
    say(f"project: {session.project.folder} ({'resumed' if session.resumed else 'new'}; "
        f"{session.project.frame_count} frames)")
    say(f"open {url}   (Ctrl+C stops the server; everything is saved as you go)")
    if token:
        say("vidseg: warning: listening beyond this computer; anyone with the URL (and its token) can edit the project")
    if not no_browser:
        webbrowser.open(url)
    try:
        _serve(create_app(session, token=token), host, port)
    finally:
        session.close()


def _serve(app: Any, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run()


def _size(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WxH, e.g. 320x240") from None
    if not (8 <= w <= 4096 and 8 <= h <= 4096):
        raise click.BadParameter(f"{value!r}: width and height must be in 8..4096")
    return w, h


@annotate.command("export")
@click.argument("project_dir", metavar="PROJECT", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-f", "--format", "formats", type=click.Choice(EXPORT_FORMATS), multiple=True, required=True,
              help="What to export (repeat for several): davis (palette PNGs + JPEGs), youtube-vos (with "
                   "meta.json), coco (RLE JSON), per-object (binary PNGs), overlay (video with the source's "
                   "timestamps and audio), training (frames + masks at --size, split by time blocks, manifest).")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None,
              help="Where to write (one format only; default: PROJECT/export/<format>).")
@click.option("--size", default="320x240", show_default=True, callback=_size, help="Training set frame size WxH.")
@click.option("--gray", is_flag=True, help="Training set frames in grayscale.")
@click.option("--val-share", type=click.FloatRange(0.0, 0.9), default=0.2, show_default=True,
              help="Share of the training set's frames kept for validation (whole blocks of time).")
@click.option("--block", type=click.IntRange(min=0), default=0,
              help="Frames per time block of the split (default: a tenth of the video, at least 10).")
@quiet_option
def export_cmd(project_dir: Path, formats: tuple[str, ...], out: Path | None, size: tuple[int, int], gray: bool,
               val_share: float, block: int, quiet: bool) -> None:
    """Export the masks of PROJECT (a folder made by `vidseg annotate`)."""
    from tqdm import tqdm

    from vidseg.annotate.export import TrainingOptions, export
    from vidseg.annotate.project import Project

    if out is not None and len(formats) > 1:
        raise UsageError("--out names one place: give one --format with it")
    project = Project.open(project_dir)
    if not Path(project.source.path).exists():
        raise InputError("the project's video is missing (exports read its frames)", project.source.path)
    say = echo(quiet)
    opts = TrainingOptions(size[0], size[1], gray, val_share, block)
    for fmt in formats:
        bar: Any = tqdm(total=project.frame_count, desc=fmt, unit="frame", disable=quiet)

        def report(done: int, total: int, bar: Any = bar) -> None:
            bar.update(done - bar.n)

        with bar:
            where = export(project, fmt, out=out, training=opts, progress=report)
        say(f"{fmt}: {where}")
