"""Open any video source: a container file, a folder of frames, a URL or a camera device."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from vidseg.errors import InputError
from vidseg.io.container import ContainerReader, live_source
from vidseg.io.folder import FolderReader
from vidseg.io.source import VideoReader

__all__ = ["VideoReader", "open_video"]


def open_video(source: str | Path, *, fps: Fraction | float | None = None, strict: bool = False) -> VideoReader:
    """Open ``source`` for reading.

    A folder is read as image frames in natural order (``fps`` sets its frame rate, default 30).
    A URL (``rtsp://``, ``http://``, ...) or camera (``/dev/video0``, ``avfoundation:0``) is a
    forward-only live stream. Anything else must be a file PyAV can open. Raises
    :class:`InputError` on a missing file, a non-video, a video without frames, a frame larger
    than :func:`vidseg.io.images.max_pixels`, or a frame folder with mixed sizes or non-image files.

    Damaged frames the decoder gets past are recorded in ``reader.damage``; with ``strict`` the
    first one raises :class:`~vidseg.errors.DecodeError` instead.
    """
    text = str(source)
    live = live_source(text) if not isinstance(source, Path) else None
    if live is not None:
        return ContainerReader(live[0], live=True, fmt=live[1], name=text, strict=strict)
    p = Path(source)
    if p.is_dir():
        rate = Fraction(fps).limit_denominator(100000) if fps is not None else None
        return FolderReader(p, fps=rate, strict=strict)
    if not p.exists():
        raise InputError("no such file or folder", p)
    if not p.is_file():
        raise InputError("not a regular file", p)
    if p.stat().st_size == 0:
        raise InputError("file is empty (not a video)", p)
    return ContainerReader(str(p), strict=strict)
