"""Exceptions raised by vidseg. Library code raises these and nothing else on purpose; only the
CLI turns them into exits.

``InputError`` (bad input) and ``OutputError`` (an output that cannot be written) carry the file
they are about. ``UsageError`` is a combination of options that cannot work (exit 2). ``ArgumentError`` is a library function called with an argument it cannot take
(a caller's mistake rather than a bad file); it is also a ``ValueError``, so code that catches
``ValueError`` keeps working. ``FrameIndexError`` is a frame index outside the video; it is also an
``IndexError``.
"""

from __future__ import annotations

from pathlib import Path


class VidsegError(Exception):
    """Base class of every error vidseg raises on purpose.

    ``str(err)`` is a one-line message that names the file (when there is one) and the problem.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputError(VidsegError):
    """Bad input: a missing, corrupt, truncated or inconsistent file, or a bad mask."""


class OutputError(VidsegError):
    """An output cannot be written (exists without --force, unwritable folder, ...)."""


class DecodeError(InputError):
    """A video broke while decoding. ``frames_done`` frames were delivered before it broke.

    Outputs written until then are kept under ``.partial`` names (see :mod:`vidseg.io.atomic`);
    ``partial`` lists them.
    """

    def __init__(self, message: str, path: str | Path | None = None, frames_done: int = 0) -> None:
        self.frames_done = frames_done
        self.partial: list[str] = []
        super().__init__(message, path)


class UsageError(VidsegError):
    """Options that cannot work together: an output that is an input, two outputs with one name.
    The command line reports it like its own usage errors (exit 2)."""


class ArgumentError(VidsegError, ValueError):
    """A library function got an argument it cannot take (wrong shape, type or range)."""


class FrameIndexError(VidsegError, IndexError):
    """A frame index outside ``0..len-1`` of a video."""
