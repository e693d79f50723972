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

    Damage the decoder gets past (decode errors it concealed, a frame it could not decode and
    that was replaced by the one before) is recorded per frame in :attr:`damage`; with ``strict``
    the first damaged frame raises :class:`~vidseg.errors.DecodeError` instead. A source that
    breaks off (truncated, unreadable) raises :class:`DecodeError` either way.
    """

    info: VideoInfo
    strict: bool = False

    @property
    def damage(self) -> dict[int, list[str]]:
        """Frame index -> what went wrong decoding it (empty when every frame decoded cleanly)."""
        d = self.__dict__.get("_damage")
        if d is None:
            d = self.__dict__["_damage"] = {}
        return d  # type: ignore[no-any-return]

    def damage_summary(self) -> str | None:
        """One line naming the damaged frames and the first problems, or None."""
        if not self.damage:
            return None
        frames = sorted(self.damage)
        problems = list(dict.fromkeys(p for i in frames for p in self.damage[i]))
        shown = "; ".join(problems[:2]) + (f"; and {len(problems) - 2} more" if len(problems) > 2 else "")
        return (f"{len(frames)} damaged frame{'s' if len(frames) != 1 else ''} "
                f"({frame_ranges(frames)}): {shown}")

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


def frame_ranges(frames: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    out: list[str] = []
    for f in sorted(set(frames)):
        if out and f == int(out[-1].rsplit("-", 1)[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{f}"
        else:
            out.append(str(f))
    return ", ".join(out)
