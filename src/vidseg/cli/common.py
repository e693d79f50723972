"""Options and helpers shared by the subcommands."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any, TypeVar

import click
from tqdm import tqdm

from vidseg.errors import DecodeError

T = TypeVar("T")

quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bars or chatter; errors still go to stderr.")
force_option = click.option("--force", is_flag=True, help="Overwrite outputs that already exist.")


def weights_option_with(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--weights DIR``: a folder of trained learned-engine weights, with ``help_text``."""
    return click.option("--weights", type=click.Path(exists=True, file_okay=False), default=None,
                        metavar="DIR", help=help_text)


weights_option = weights_option_with(
    "A learned engine's trained weights instead of the shipped ones: the folder `vidseg "
    "train-engine -o RUN` exports (RUN/engine: the ONNX graphs and card.json, each file's SHA-256 "
    "checked before any work). For the fast, default and accurate engines.")
strict_option = click.option(
    "--strict", is_flag=True,
    help="Stop at the first damaged frame (a decode error the decoder concealed, or a frame it could "
         "not decode) instead of warning at the end; the frames before it are kept under .partial names.")


class FrameRateType(click.ParamType):
    """A frame rate: an integer, a decimal or a fraction (``25``, ``29.97``, ``30000/1001``)."""

    name = "RATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Fraction:
        if isinstance(value, Fraction):
            return value
        try:
            fps = Fraction(str(value).strip()).limit_denominator(100000)
        except (ValueError, ZeroDivisionError):
            self.fail(f"{value!r} is not a frame rate (e.g. 25, 29.97 or 30000/1001)", param, ctx)
        if fps <= 0:
            self.fail(f"{value!r}: the frame rate must be positive", param, ctx)
        return fps


FRAME_RATE = FrameRateType()


def fps_option(what: str = "a folder of frames") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--fps RATE`` (one parser for every command: 25, 29.97 or 30000/1001)."""
    return click.option("--fps", "fps", type=FRAME_RATE, default=None, metavar="RATE",
                        help=f"Frame rate of {what} (which has none), e.g. 25, 29.97 or 30000/1001 "
                             "(default 30). Ignored for videos, whose own timestamps are kept.")


def warn(message: str) -> None:
    """One ``vidseg: warning: ...`` line on stderr."""
    click.echo(f"vidseg: warning: {message}", err=True)


def broken_run(err: DecodeError, frames: int, what: str) -> DecodeError:
    """The one-line error for a run whose input broke after ``frames`` frames: where it broke and
    where the frames done are (their ``.partial`` outputs)."""
    where = ", ".join(err.partial)
    kept = (f"; the {frames} frame(s) {what} before it are in {where}" if where
            else f"; {frames} frame(s) were {what} before it")
    out = DecodeError(f"{err.message}{kept}", err.path, frames_done=frames)
    out.partial = list(err.partial)
    return out


def progress(items: Iterable[T], *, total: int | None, desc: str, quiet: bool, unit: str = "frame") -> Iterator[T]:
    """Wrap ``items`` in a progress bar (frames done, fps, ETA) on stderr unless ``quiet``."""
    if quiet:
        yield from items
        return
    bar = tqdm(items, total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True, file=None)
    try:
        yield from bar
    finally:
        bar.close()


def echo(quiet: bool) -> Callable[..., Any]:
    """A ``click.echo`` that says nothing when ``quiet``."""

    def _echo(*args: Any, **kwargs: Any) -> None:
        if not quiet:
            click.echo(*args, **kwargs)

    return _echo
