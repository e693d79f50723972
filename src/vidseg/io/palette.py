"""The DAVIS / Pascal VOC palette and palette-PNG mask files (pixel value = object id)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vidseg.errors import ArgumentError, InputError


def davis_palette(n: int = 256) -> np.ndarray:
    """The standard DAVIS/Pascal VOC palette as an ``(n, 3)`` uint8 array (id 0 black, 1 red, ...)."""
    pal = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


PALETTE = davis_palette()


def label_image(labels: np.ndarray) -> Image.Image:
    """A palette ("P" mode) PIL image of an HxW uint8 label map."""
    if labels.ndim != 2:
        raise ArgumentError(f"label map must be 2-D, got shape {labels.shape}")
    im = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    im.putpalette(PALETTE.tobytes())
    return im


def read_mask(path: str | Path, *, binary_255_is_object: bool = True) -> np.ndarray:
    """Read a mask PNG as an HxW uint8 array of object ids: the one mask reader of vidseg (given
    masks, ground truth and results alike).

    Palette PNGs give their indices. Grey or RGB PNGs holding only 0 and 255 (DAVIS-2016 style)
    become ids 0/1 when ``binary_255_is_object`` (otherwise 255 stays: DAVIS-2017's void). RGB
    PNGs painted with the DAVIS palette are mapped back to ids. The size is checked against
    :func:`vidseg.io.images.max_pixels` before decoding. Raises :class:`InputError` naming the
    file on anything else.
    """
    from vidseg.io.images import open_image

    p = Path(path)
    if not p.is_file():
        raise InputError("mask file not found", p)
    with open_image(p, "mask") as im:
        im.load()
        mode = im.mode
        if mode == "P":
            arr = np.asarray(im, dtype=np.uint8)
        elif mode in ("L", "1", "I", "I;16", "I;16B", "I;16L"):
            arr = np.asarray(im.convert("L") if mode == "1" else im)
            if arr.dtype != np.uint8:
                if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 255):
                    raise InputError(f"mask values {int(arr.min())}..{int(arr.max())} are outside 0..255", p)
                arr = arr.astype(np.uint8)
        elif mode in ("RGB", "RGBA", "LA"):
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
            arr = _rgb_to_ids(rgb, p)
        else:
            raise InputError(f"unsupported image mode {mode!r} for a mask", p)
    if arr.ndim != 2:
        raise InputError(f"mask must be single-channel, got shape {arr.shape}", p)
    if binary_255_is_object and mode != "P":
        counts = np.bincount(arr.ravel(), minlength=256)
        if counts[255] and not counts[1:255].any():
            arr = (arr == 255).view(np.uint8)
    return np.ascontiguousarray(arr)


def _rgb_to_ids(rgb: np.ndarray, path: Path) -> np.ndarray:
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])
    code = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    pal = PALETTE.astype(np.int32)
    lut = {int((r << 16) | (g << 8) | b): i for i, (r, g, b) in enumerate(pal)}
    uniq, inv = np.unique(code, return_inverse=True)
    ids = np.empty(uniq.shape, dtype=np.uint8)
    for k, c in enumerate(uniq.tolist()):
        if c not in lut:
            r, g, b = (c >> 16) & 255, (c >> 8) & 255, c & 255
            raise InputError(f"RGB colour ({r},{g},{b}) is not in the DAVIS palette", path)
        ids[k] = lut[c]
    return ids[inv].reshape(rgb.shape[:2])


def write_mask(path: str | Path, labels: np.ndarray) -> None:
    """Write an HxW label map as a DAVIS palette PNG (not atomic; see :mod:`vidseg.io.atomic`)."""
    label_image(labels).save(str(path), format="PNG", optimize=False, compress_level=1)
