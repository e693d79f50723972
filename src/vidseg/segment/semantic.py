"""Semantic post-processing: model output -> per-class maps -> label map at frame size.

Argmax fusion as in the seed script: the argmax is taken at the model's resolution and the label
map is upscaled with nearest neighbour (no full-size resize of every class map). ``bilinear``
upscales the probabilities first for smoother edges. Single-channel models (one foreground
probability or logit, e.g. the selfie segmenter) are thresholded instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidseg.errors import ArgumentError, InputError
from vidseg.models.card import ModelCard
from vidseg.models.model import Letterbox

UPSAMPLES = ("nearest", "bilinear")


def class_maps(output: np.ndarray, card: ModelCard) -> np.ndarray:
    """The model's semantic output as a ``(C, h, w)`` float32 array (batch item 0).

    Accepts ``(1, C, h, w)``, ``(1, h, w, C)``, ``(C, h, w)``, ``(h, w, C)`` and ``(h, w)``;
    ``card.output_layout`` decides between channel-first and channel-last (``auto``: the axis
    whose size matches the label count, else the smaller one).
    """
    a = np.asarray(output)
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise InputError(f"semantic output batch is {a.shape[0]}, expected 1", card.file or card.name)
        a = a[0]
    if a.ndim == 2:
        return a[None].astype(np.float32, copy=False)
    if a.ndim != 3:
        raise InputError(f"semantic output has shape {list(np.shape(output))}; expected 3-D or 4-D", card.file or card.name)
    layout = card.output_layout
    if layout == "auto":
        n = len(card.labels)
        if a.shape[0] in (n, 1) and a.shape[2] not in (n, 1):
            layout = "NCHW"
        elif a.shape[2] in (n, 1) and a.shape[0] not in (n, 1):
            layout = "NHWC"
        else:
            layout = "NCHW" if a.shape[0] <= a.shape[2] else "NHWC"
    if layout == "NHWC":
        a = a.transpose(2, 0, 1)
    return np.ascontiguousarray(a, dtype=np.float32)


def crop_padding(maps: np.ndarray, lb: Letterbox, card: ModelCard) -> np.ndarray:
    """Cut letterbox padding off ``(C, h, w)`` maps so they cover exactly the frame."""
    if lb.pad_x == 0 and lb.pad_y == 0:
        return maps
    h, w = maps.shape[1:]
    sx, sy = w / card.width, h / card.height
    x0, y0 = round(lb.pad_x * sx), round(lb.pad_y * sy)
    x1 = round((lb.pad_x + lb.frame_w * lb.scale_x) * sx)
    y1 = round((lb.pad_y + lb.frame_h * lb.scale_y) * sy)
    return maps[:, y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]


def to_probabilities(maps: np.ndarray, card: ModelCard) -> np.ndarray:
    """Per-class probabilities ``(C, h, w)``: softmax of logits, sigmoid of a single logit, or the
    maps unchanged when the card says they already are probabilities."""
    if card.output == "probabilities":
        return maps
    if maps.shape[0] == 1:
        return (1.0 / (1.0 + np.exp(-maps))).astype(np.float32)
    m = maps - maps.max(axis=0, keepdims=True)
    np.exp(m, out=m)
    m /= m.sum(axis=0, keepdims=True)
    return m


def class_indices(card: ModelCard, names: Sequence[str] | None) -> list[int] | None:
    """Label indices for ``names`` (e.g. ``["person", "cat"]``); ``None`` keeps every class."""
    if not names:
        return None
    labels = list(card.labels)
    out = []
    for n in names:
        if n in labels:
            out.append(labels.index(n))
        elif n.isdigit() and int(n) < len(labels):
            out.append(int(n))
        else:
            raise InputError(f"model {card.name!r} has no class {n!r}; its classes are: {', '.join(labels)}")
    return out


def labels_from_maps(
    maps: np.ndarray,
    frame_size: tuple[int, int],
    *,
    card: ModelCard,
    upsample: str = "nearest",
    keep: Sequence[int] | None = None,
    threshold: float | None = None,
    probabilities: bool | None = None,
) -> np.ndarray:
    """An HxW uint8 label map (class index, background 0) at ``frame_size`` = ``(w, h)``.

    ``maps`` are ``(C, h, w)`` scores already cropped to the frame. With one channel, the
    foreground (label 1) is where its probability passes ``threshold`` (default: the card's).
    Classes not in ``keep`` become background. ``probabilities`` says whether ``maps`` already
    are probabilities (default: what the card says).
    """
    if upsample not in UPSAMPLES:
        raise ArgumentError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
    fw, fh = frame_size
    thr = card.threshold if threshold is None else threshold
    is_prob = card.output == "probabilities" if probabilities is None else probabilities
    if maps.shape[0] == 1:
        p = maps[0] if is_prob else to_probabilities(maps, card)[0]
        if upsample == "bilinear":
            p = cv2.resize(p, (fw, fh), interpolation=cv2.INTER_LINEAR)
            lab = (p > thr).astype(np.uint8)
        else:
            lab = cv2.resize((p > thr).astype(np.uint8), (fw, fh), interpolation=cv2.INTER_NEAREST)
        if keep is not None and 1 not in keep:
            lab[:] = 0
        return lab
    if upsample == "bilinear":
        probs = maps if is_prob else to_probabilities(maps, card)
        big = cv2.resize(np.ascontiguousarray(probs.transpose(1, 2, 0)), (fw, fh), interpolation=cv2.INTER_LINEAR)
        if big.ndim == 2:
            big = big[..., None]
        lab = np.argmax(big, axis=2).astype(np.uint8)
    else:
        small = np.argmax(maps, axis=0).astype(np.uint8)
        lab = cv2.resize(small, (fw, fh), interpolation=cv2.INTER_NEAREST)
    if keep is not None:
        lut = np.zeros(256, np.uint8)
        for k in keep:
            lut[k] = k
        lab = lut[lab]
    return lab


def foreground_probability(maps: np.ndarray, card: ModelCard, keep: Sequence[int] | None = None) -> np.ndarray:
    """An ``(h, w)`` float32 probability of "not background" (or of the ``keep`` classes)."""
    probs = to_probabilities(maps, card)
    if probs.shape[0] == 1:
        return probs[0] if keep is None or 1 in keep else np.zeros_like(probs[0])
    if keep is None:
        return np.clip(1.0 - probs[0], 0.0, 1.0).astype(np.float32)
    return np.clip(probs[list(keep)].sum(axis=0), 0.0, 1.0).astype(np.float32)
