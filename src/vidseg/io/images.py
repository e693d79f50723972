"""Reading image files (frames, masks, backgrounds) safely: a size limit against decompression
bombs, and every failure an :class:`~vidseg.errors.InputError` naming the file.

A PNG header can claim 40000x30000 pixels in a few bytes; decoding it would take gigabytes.
Every image vidseg reads is checked against :func:`max_pixels` from its header, before any pixel
is decoded. The limit is 100 million pixels (a 10000x10000 frame; 8K video is 33 million) unless
raised with ``vidseg --max-pixels N``, the ``VIDSEG_MAX_PIXELS`` environment variable or
:func:`set_max_pixels`. Decoding goes through Pillow, which raises on a truncated file instead of
printing to stderr and returning half a picture.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vidseg.errors import ArgumentError, InputError

DEFAULT_MAX_PIXELS = 100_000_000
ENV_MAX_PIXELS = "VIDSEG_MAX_PIXELS"
_limit: int | None = None
_PIL_GUARD = threading.Lock()


def max_pixels() -> int:
    """The largest image (width x height) vidseg reads: :func:`set_max_pixels`, else
    ``$VIDSEG_MAX_PIXELS``, else 100 million."""
    if _limit is not None:
        return _limit
    env = os.environ.get(ENV_MAX_PIXELS, "").strip()
    if env:
        try:
            value = int(float(env))
        except ValueError:
            raise InputError(f"{ENV_MAX_PIXELS}={env!r} is not a number of pixels") from None
        if value > 0:
            return value
    return DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int | None) -> None:
    """Set the image size limit (``None``: back to the environment's or the default)."""
    global _limit
    if limit is not None and limit <= 0:
        raise ArgumentError(f"the pixel limit must be positive, got {limit}")
    _limit = None if limit is None else int(limit)


def _mega(n: int) -> str:
    return f"{n / 1e6:.0f} million" if n >= 10_000_000 else f"{n / 1e6:.1f} million"


def check_pixels(width: int, height: int, path: str | Path | None, what: str = "image") -> None:
    """:class:`InputError` when a ``width`` x ``height`` ``what`` is above :func:`max_pixels`."""
    limit = max_pixels()
    if width * height > limit:
        raise InputError(
            f"{what} is {width}x{height} ({_mega(width * height)} pixels), above the limit of "
            f"{_mega(limit)} (a decompression bomb?); if it is real, raise the limit with "
            f"`vidseg --max-pixels N ...` or {ENV_MAX_PIXELS}=N", path,
        )


@contextlib.contextmanager
def open_image(path: str | Path, what: str = "image") -> Iterator[Image.Image]:
    """The Pillow image of ``path`` with its size checked (nothing decoded yet). Errors while the
    ``with`` block decodes it (truncated or corrupt data) become :class:`InputError` naming it."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file not found", p)
    try:
        # opening reads the header only; the size is judged below, against vidseg's limit (Pillow's
        # own guard would refuse in its words, and undercut a raised limit); the lock keeps threads
        # from restoring each other's value
        with _PIL_GUARD:
            saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
            try:
                im = Image.open(p)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except Image.DecompressionBombError as exc:
        raise InputError(f"{what} is too large to read ({exc}); a decompression bomb?", p) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InputError(f"not a readable image ({exc.__class__.__name__}: {exc})", p) from exc
    with im:
        check_pixels(int(im.size[0]), int(im.size[1]), p, what)
        try:
            yield im
        except InputError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
            raise InputError(f"cannot decode {what} ({exc.__class__.__name__}: {exc})", p) from exc


def image_size(path: str | Path, what: str = "image") -> tuple[int, int]:
    """``(width, height)`` from the header, size-checked."""
    with open_image(path, what) as im:
        return int(im.size[0]), int(im.size[1])


def read_rgb(path: str | Path, what: str = "image") -> np.ndarray:
    """An HxWx3 uint8 RGB array of an image file (EXIF orientation ignored, as video frames)."""
    with open_image(path, what) as im:
        if im.mode in ("RGB", "L"):
            im.draft("RGB", im.size)  # JPEG: decode straight to RGB
        rgb = im.convert("RGB")
        return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
