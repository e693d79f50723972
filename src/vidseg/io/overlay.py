"""Draw label maps over frames: translucent palette colours, contours, optional id labels.

Contours are drawn in the object's palette colour where that colour stands out from the frame
under it, and in black or white (whichever contrasts) where it does not: a red object on a red
background keeps a visible outline."""

from __future__ import annotations

import cv2
import numpy as np

from vidseg.errors import ArgumentError
from vidseg.io.palette import PALETTE

_KERNEL = np.ones((3, 3), np.uint8)
CONTRAST = 96  # an outline pixel whose colour is within this (per channel) of the frame's turns black/white


def _lut(palette: np.ndarray) -> np.ndarray:
    pal = np.zeros((256, 3), np.uint8)
    n = min(256, len(palette))
    pal[:n] = np.asarray(palette, dtype=np.uint8)[:n, :3]
    return pal.reshape(256, 1, 3)


_DEFAULT_LUT = _lut(PALETTE)


def draw_overlay(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    alpha: float = 0.5,
    contours: bool = True,
    show_ids: bool = False,
    palette: np.ndarray | None = None,
) -> np.ndarray:
    """A new RGB uint8 image: each object id painted in its palette colour at ``alpha`` over
    ``image`` (id 0 is left untouched), with a 2-pixel opaque contour around every object (in its
    colour, or black/white where that colour would not stand out from the frame) and, if
    ``show_ids``, its id written at its centroid."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ArgumentError(f"image must be HxWx3 uint8 RGB, got {image.shape} {image.dtype}")
    if labels.shape != image.shape[:2]:
        raise ArgumentError(f"label map {labels.shape} does not match image {image.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ArgumentError(f"alpha must be in [0, 1], got {alpha}")
    lab = labels if labels.dtype == np.uint8 else _to_uint8(labels)
    lut = _DEFAULT_LUT if palette is None else _lut(palette)
    out = image.copy()
    x, y, w, h = cv2.boundingRect(lab)  # work only around the objects
    if w == 0 or h == 0:
        return out
    m = 2 if contours else 0
    y0, y1 = max(0, y - m), min(lab.shape[0], y + h + m)
    x0, x1 = max(0, x - m), min(lab.shape[1], x + w + m)
    sub_lab = lab[y0:y1, x0:x1]
    sub = np.ascontiguousarray(out[y0:y1, x0:x1])
    base = np.ascontiguousarray(image[y0:y1, x0:x1])
    # off the contours hi == lab, so one colour image serves the fill and the contours
    hi = cv2.dilate(sub_lab, _KERNEL) if contours else sub_lab
    colours = cv2.LUT(cv2.merge((hi, hi, hi)), lut)
    if alpha > 0:
        blended = cv2.addWeighted(sub, 1.0 - alpha, colours, alpha, 0.0)
        cv2.copyTo(blended, cv2.threshold(sub_lab, 0, 255, cv2.THRESH_BINARY)[1], sub)
    if contours:
        edge = cv2.compare(hi, cv2.erode(sub_lab, _KERNEL), cv2.CMP_NE)
        diff = cv2.split(cv2.absdiff(colours, base))
        close = cv2.threshold(cv2.max(cv2.max(diff[0], diff[1]), diff[2]), CONTRAST - 1, 255,
                              cv2.THRESH_BINARY_INV)[1]  # 255 where the colours differ by < CONTRAST
        close = cv2.bitwise_and(close, edge)
        if cv2.countNonZero(close):  # where the palette colour would vanish: black or white
            white = cv2.threshold(cv2.cvtColor(base, cv2.COLOR_RGB2GRAY), 127, 255, cv2.THRESH_BINARY_INV)[1]
            colours = colours.copy()
            cv2.copyTo(cv2.merge((white, white, white)), close, colours)
        cv2.copyTo(colours, edge, sub)
    out[y0:y1, x0:x1] = sub
    if show_ids:
        _draw_ids(out, lab)
    return out


def _to_uint8(labels: np.ndarray) -> np.ndarray:
    if labels.dtype == bool:
        return labels.astype(np.uint8)
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) > 255):
        raise ArgumentError("label ids must be in 0..255")
    return labels.astype(np.uint8)


def _draw_ids(out: np.ndarray, lab: np.ndarray) -> None:
    step = 4  # centroids from a subsampled map: plenty for placing a label
    small = np.ascontiguousarray(lab[::step, ::step])
    counts = np.bincount(small.ravel(), minlength=256)
    h, w = lab.shape
    scale = max(0.4, min(h, w) / 600.0)
    for obj in np.flatnonzero(counts[1:]) + 1:
        m = cv2.moments((small == obj).view(np.uint8), binaryImage=True)
        if m["m00"] <= 0:
            continue
        cx, cy = int(step * m["m10"] / m["m00"]), int(step * m["m01"] / m["m00"])
        text = str(int(obj))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        org = (min(max(cx - tw // 2, 0), w - tw), min(max(cy + th // 2, th), h - 1))
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
