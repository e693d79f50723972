"""Reading a video backward in bounded memory: chunks decoded forward, handed out reversed."""

from __future__ import annotations

from collections.abc import Iterator

from vidseg.errors import ArgumentError, FrameIndexError, InputError
from vidseg.io.frames import Frame
from vidseg.io.source import VideoReader

REVERSE_CHUNK = 32  # frames decoded forward and held at once


def frames_backward(reader: VideoReader, last: int, *, first: int = 0,
                    chunk: int = REVERSE_CHUNK) -> Iterator[Frame]:
    """Frames ``last``, ``last - 1``, ..., ``first`` of ``reader``.

    The frames are read with random access (``reader.read``) in chunks of at most ``chunk``
    frames, each decoded forward from its first frame (a container seeks once to the keyframe
    before it), and handed out in reverse: at most ``chunk`` frames are held, and the frames
    decoded number about ``n + n / chunk * GOP`` for ``n`` frames, not ``n**2 / 2``. A live
    stream cannot go back: :class:`InputError`.
    """
    if reader.info.kind == "stream":
        raise InputError("a live stream cannot be read backward (no random access)", reader.path)
    if chunk < 1:
        raise ArgumentError(f"chunk must be >= 1, got {chunk}")
    n = len(reader)
    if n and not 0 <= first <= last < n:
        raise FrameIndexError(f"frames {first}..{last} are not all in 0..{n - 1}")
    end = last + 1
    while end > first:
        start = max(first, end - chunk)
        block = [reader.read(i) for i in range(start, end)]
        while block:
            yield block.pop()
        end = start
