"""The data that flows through vidseg: a decoded frame and a video's description."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    ``image`` is an HxWx3 uint8 RGB array (rotation metadata already applied). ``time`` is the
    presentation time in seconds; ``pts`` and ``time_base`` are the exact stream values when the
    source is a container (``None`` for a folder of images). ``stem`` names output files: the file
    stem for a folder of frames, a 5-digit index (``00042``) for a video.
    """

    index: int
    time: float
    stem: str
    image: np.ndarray
    pts: int | None = None
    time_base: Fraction | None = None

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What ``vidseg info`` prints about a source."""

    path: str
    kind: str  # "container" | "folder" | "stream"
    width: int
    height: int
    frame_count: int | None
    fps: Fraction | None
    duration: float | None
    codec: str | None
    time_base: Fraction | None
    rotation: int = 0
    variable_frame_rate: bool = False
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


FrameWrap = Callable[[Iterator[Frame], int | None], Iterable[Frame]]
"""Something that wraps a stream of frames and its length, if known (e.g. in a progress bar)."""
