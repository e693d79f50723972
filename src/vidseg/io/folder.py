"""A folder of image frames (jpg/png/...) read as a video, in natural sort order.

Every header is read at open (sizes must agree, and each is checked against the image size
limit of :mod:`vidseg.io.images`); frames are decoded with Pillow, which reports a truncated or
corrupt file instead of printing to stderr. A frame that cannot be decoded is replaced by the one
before it and recorded in ``reader.damage`` (with ``strict``: a :class:`DecodeError`).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from vidseg.errors import DecodeError, FrameIndexError, InputError
from vidseg.io.frames import Frame, VideoInfo
from vidseg.io.images import image_size, read_rgb
from vidseg.io.natsort import natural_sorted
from vidseg.io.prefetch import prefetch
from vidseg.io.source import DEFAULT_FPS, VideoReader

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


def list_frames(folder: Path) -> list[Path]:
    """The image files of ``folder`` in natural order. Hidden files and sub-folders are ignored;
    any other non-image file is an :class:`InputError` naming it."""
    files = [p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()]
    for p in natural_sorted(files):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(
                "not an image file; a frame folder may hold only "
                + "/".join(sorted(s[1:] for s in IMAGE_SUFFIXES)) + " frames", p,
            )
    frames = natural_sorted(files)
    if not frames:
        raise InputError("folder holds no image frames", folder)
    return frames


def _header_size(p: Path) -> tuple[int, int]:
    return image_size(p, "frame")


class FolderReader(VideoReader):
    """Frames from image files. ``stem`` is the file stem; ``time`` is ``index / fps``."""

    def __init__(self, folder: str | Path, *, fps: Fraction | None = None, strict: bool = False) -> None:
        self.folder = Path(folder)
        self.strict = strict
        self._last: Frame | None = None
        self.files = list_frames(self.folder)
        w, h = _header_size(self.files[0])
        for p in self.files[1:]:
            size = _header_size(p)
            if size != (w, h):
                raise InputError(
                    f"frame is {size[0]}x{size[1]} but {self.files[0].name} is {w}x{h} "
                    "(all frames of a folder must have one size)", p,
                )
        self._fps = Fraction(fps) if fps is not None else DEFAULT_FPS
        n = len(self.files)
        self.info = VideoInfo(
            path=str(self.folder), kind="folder", width=w, height=h, frame_count=n,
            fps=Fraction(fps) if fps is not None else None,
            duration=float(n / self._fps) if fps is not None else None,
            codec=None, time_base=None,
        )

    def _load(self, index: int) -> Frame:
        p = self.files[index]
        time = float(index / self._fps)
        try:
            rgb = read_rgb(p, "frame")
            if rgb.shape[:2] != (self.info.height, self.info.width):
                raise InputError(f"decoded size {rgb.shape[1]}x{rgb.shape[0]} differs from the folder's "
                                 f"{self.info.width}x{self.info.height}", p)
        except InputError as exc:
            if self.strict:
                raise DecodeError(f"frame {index} is damaged ({exc.message}); --strict stops at the first "
                                  f"damaged frame", p, frames_done=index) from None
            like = self._last if self._last is not None and self._last.index < index else None
            if like is None:
                raise DecodeError(f"cannot decode frame {index} ({exc.message})", p, frames_done=index) from None
            self.damage.setdefault(index, []).append(f"{p.name}: {exc.message} (the frame before it is repeated)")
            rgb = like.image
        frame = Frame(index=index, time=time, stem=p.stem, image=rgb)
        self._last = frame
        return frame

    def __iter__(self) -> Iterator[Frame]:
        # images are decoded a few ahead in a thread (OpenCV releases the GIL)
        return prefetch((self._load(i) for i in range(len(self.files))), depth=4)

    def read(self, index: int) -> Frame:
        if not 0 <= index < len(self.files):
            raise FrameIndexError(f"frame {index} out of range 0..{len(self.files) - 1}", self.folder)
        return self._load(index)
