"""The reader interface every video source implements (containers, frame folders, live streams)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from fractions import Fraction
from types import TracebackType

from vidseg.io.frames import Frame, VideoInfo

DEFAULT_FPS = Fraction(30)  # frame rate assumed for a folder of frames when none is given


class VideoReader(ABC):
    """A source of RGB frames: iterate to stream them, ``read(i)`` for random access.

    Use as a context manager (or call :meth:`close`). Iterating always starts from the first
    frame and does not disturb the position used by :meth:`read`.
    """

    info: VideoInfo

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]:
        """Stream every frame in presentation order."""

    @abstractmethod
    def read(self, index: int) -> Frame:
        """Frame ``index`` (0-based). Raises ``IndexError`` outside ``0..len-1``."""

    def __len__(self) -> int:
        """The number of frames; 0 when unknown (a live stream), so ``len(r) or None`` is a total."""
        return self.info.frame_count or 0

    def __bool__(self) -> bool:
        return True  # a reader is never "empty" just because its length is unknown

    @property
    def path(self) -> str:
        return self.info.path

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the decoder and files."""

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
