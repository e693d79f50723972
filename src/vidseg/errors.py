"""Exceptions raised by vidseg. Library code raises these; only the CLI turns them into exits."""

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
    """A video broke while decoding. ``frames_done`` frames were delivered before it broke."""

    def __init__(self, message: str, path: str | Path | None = None, frames_done: int = 0) -> None:
        self.frames_done = frames_done
        super().__init__(message, path)
