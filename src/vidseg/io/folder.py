"""A folder of image frames (jpg/png/...) read as a video, in natural sort order."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vidseg.errors import DecodeError, InputError
from vidseg.io.frames import Frame, VideoInfo
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
    try:
        with Image.open(p) as im:
            return int(im.size[0]), int(im.size[1])
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"not a readable image ({exc.__class__.__name__}: {exc})", p) from exc


class FolderReader(VideoReader):
    """Frames from image files. ``stem`` is the file stem; ``time`` is ``index / fps``."""

    def __init__(self, folder: str | Path, *, fps: Fraction | None = None) -> None:
        self.folder = Path(folder)
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
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if bgr is None:
            raise DecodeError(f"cannot decode image (frame {index})", p, frames_done=index)
        if bgr.shape[:2] != (self.info.height, self.info.width):
            raise DecodeError(
                f"decoded size {bgr.shape[1]}x{bgr.shape[0]} differs from the folder's "
                f"{self.info.width}x{self.info.height}", p, frames_done=index,
            )
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return Frame(index=index, time=float(index / self._fps), stem=p.stem, image=np.ascontiguousarray(rgb))

    def __iter__(self) -> Iterator[Frame]:
        # images are decoded a few ahead in a thread (OpenCV releases the GIL)
        return prefetch((self._load(i) for i in range(len(self.files))), depth=4)

    def read(self, index: int) -> Frame:
        if not 0 <= index < len(self.files):
            raise IndexError(f"frame {index} out of range 0..{len(self.files) - 1}")
        return self._load(index)
