"""Masks from a box or clicks, for users who have no mask to start from.

Clicks (positive, with optional negative ones) go to the click head (:mod:`vidseg.vos.click_head`);
where its mask leaves out a positive click or takes in a negative one, and for a box, they seed
OpenCV's GrabCut on the prompt frame. The result is the object's mask, which the tracker then
follows like a given PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.vos.click_head import ClickModel, colour_explains, drop_specks

Box = tuple[int, int, int, int]
Point = tuple[int, int]


def _check_point(x: int, y: int, w: int, h: int, what: str) -> None:
    if not (0 <= x < w and 0 <= y < h):
        raise InputError(f"{what} ({x}, {y}) lies outside the {w}x{h} frame")


def mask_from_box(image: np.ndarray, box: Box, *, iterations: int = 4) -> np.ndarray:
    """The object inside ``box`` = (x0, y0, x1, y1) on an RGB ``image``, as a bool HxW mask."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    x0, x1 = sorted((max(0, x0), min(w, x1)))
    y0, y1 = sorted((max(0, y0), min(h, y1)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise InputError(f"box {box} is empty inside the {w}x{h} frame")
    gc = np.full((h, w), cv2.GC_BGD, np.uint8)
    gc[y0:y1, x0:x1] = cv2.GC_PR_FGD
    return _grabcut(image, gc, iterations)


def mask_from_clicks(image: np.ndarray, positive: Sequence[Point], negative: Sequence[Point] = (),
                     *, radius: int | None = None, iterations: int = 4,
                     head: ClickModel | None | bool = True) -> np.ndarray:
    """The object under the ``positive`` clicks (and away from the ``negative`` ones), bool HxW:
    the click head's mask (``head``: a loaded one, True for the shipped one, False for none), or
    GrabCut's where the head's does not respect every click or GrabCut's explains it
    (:func:`~vidseg.vos.click_head.colour_explains`)."""
    if not positive:
        raise InputError("at least one positive click is needed")
    h, w = image.shape[:2]
    for x, y in [*positive, *negative]:
        _check_point(x, y, w, h, "click")
    learned: np.ndarray | None = None
    if head is not False:
        model = head if isinstance(head, ClickModel) else ClickModel()
        clicks = [(float(x), float(y), True) for x, y in positive] + [(float(x), float(y), False) for x, y in negative]
        learned = drop_specks(model.probability(None, image, clicks) > 0.5)
        if not (all(learned[int(y), int(x)] for x, y in positive)
                and not any(learned[int(y), int(x)] for x, y in negative)):
            learned = None
    try:
        colour = _grabcut_clicks(image, positive, negative, radius, iterations)
    except InputError:
        if learned is None:
            raise
        return learned
    return colour if learned is None or colour_explains(learned, colour) else learned


def _grabcut_clicks(image: np.ndarray, positive: Sequence[Point], negative: Sequence[Point],
                    radius: int | None, iterations: int) -> np.ndarray:
    h, w = image.shape[:2]
    r = radius if radius is not None else max(3, round(0.01 * np.hypot(h, w)))
    pts = np.asarray(positive, np.float32)
    # probably the object: a disc around the clicks (their spread, at least 1/8 of the frame);
    # probably background: a ring as wide again; surely background: everything further away
    span = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 0.125 * min(h, w))
    cx, cy = (int(v) for v in pts.mean(axis=0))
    gc = np.full((h, w), cv2.GC_BGD, np.uint8)
    cv2.circle(gc, (cx, cy), int(2 * span), cv2.GC_PR_BGD, -1)
    cv2.circle(gc, (cx, cy), int(span), cv2.GC_PR_FGD, -1)
    for x, y in positive:
        cv2.circle(gc, (int(x), int(y)), r, cv2.GC_FGD, -1)
    for x, y in negative:
        cv2.circle(gc, (int(x), int(y)), r, cv2.GC_BGD, -1)
    mask = _grabcut(image, gc, iterations)
    # keep only the connected parts that hold a positive click
    n, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = {int(comp[int(y), int(x)]) for x, y in positive} - {0}
    return np.isin(comp, sorted(keep)) if n > 1 else mask


def _grabcut(image: np.ndarray, gc: np.ndarray, iterations: int) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"expected an RGB image, got shape {image.shape}")
    bgr = np.ascontiguousarray(image[..., ::-1])
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(bgr, gc, (0, 0, 0, 0), bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error as exc:  # e.g. no background or no foreground samples left
        raise InputError(f"cannot segment from this prompt ({exc.err})") from exc
    mask = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    if not mask.any():
        raise InputError("the prompt gave an empty mask")
    return mask


def labels_from_prompts(image: np.ndarray, boxes: dict[int, Box] | None = None,
                        clicks: dict[int, list[Point]] | None = None,
                        negative: dict[int, list[Point]] | None = None) -> np.ndarray:
    """A label map (uint8 ids) from per-object boxes and/or clicks on one RGB frame.

    Objects are painted in id order; a later object wins where two overlap.
    """
    h, w = image.shape[:2]
    labels = np.zeros((h, w), np.uint8)
    boxes, clicks, negative = boxes or {}, clicks or {}, negative or {}
    ids = sorted(set(boxes) | set(clicks))
    model: ClickModel | None = None  # loaded once, for the objects given by clicks
    if not ids:
        raise InputError("no box or click was given")
    for obj in ids:
        if not 1 <= obj <= 255:
            raise InputError(f"object id {obj} is outside 1..255")
        if obj in boxes:
            m = mask_from_box(image, boxes[obj])
            if obj in clicks or obj in negative:
                gc = np.where(m, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
                for x, y in clicks.get(obj, []):
                    _check_point(x, y, w, h, "click")
                    cv2.circle(gc, (int(x), int(y)), 4, cv2.GC_FGD, -1)
                for x, y in negative.get(obj, []):
                    _check_point(x, y, w, h, "click")
                    cv2.circle(gc, (int(x), int(y)), 4, cv2.GC_BGD, -1)
                m = _grabcut(image, gc, 2)
        else:
            model = model or ClickModel()
            m = mask_from_clicks(image, clicks[obj], negative.get(obj, []), head=model)
        labels[m] = obj
    return labels
