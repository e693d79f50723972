"""Background effects from an alpha matte (1 = object): blur, replace, remove, cut out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidseg.errors import ArgumentError, InputError

EFFECTS = ("blur", "replace", "remove", "cutout")


@dataclass(frozen=True)
class Effect:
    """A parsed ``--effect`` value: ``blur[:STRENGTH]``, ``replace:IMAGE``, ``remove``, ``cutout``."""

    kind: str
    strength: int = 21
    background: np.ndarray | None = None

    @staticmethod
    def parse(text: str) -> Effect:
        kind, _, arg = text.partition(":")
        if kind not in EFFECTS:
            raise InputError(f"unknown effect {text!r}; use blur[:N], replace:IMAGE, remove or cutout")
        if kind == "blur":
            try:
                strength = int(arg) if arg else 21
            except ValueError as exc:
                raise InputError(f"blur strength must be an integer, got {arg!r}") from exc
            return Effect("blur", strength=max(1, strength))
        if kind == "replace":
            if not arg:
                raise InputError("replace needs an image: --effect replace:BACKGROUND.jpg")
            return Effect("replace", background=read_background(arg))
        if arg:
            raise InputError(f"effect {kind!r} takes no argument")
        return Effect(kind)

    @property
    def rgba(self) -> bool:
        """Whether the effect gives RGBA images (written as PNGs; in a video, on black)."""
        return self.kind in ("remove", "cutout")

    def apply(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if self.kind == "blur":
            return blur_background(image, alpha, self.strength)
        if self.kind == "replace":
            assert self.background is not None
            return replace_background(image, alpha, self.background)
        if self.kind == "remove":
            return remove_background(image, alpha)
        return cutout(image, alpha)


def read_background(path: str | Path) -> np.ndarray:
    """The background image of ``replace:IMAGE`` as RGB (size-checked, see :mod:`vidseg.io.images`)."""
    from vidseg.io.images import read_rgb

    return read_rgb(Path(path), "background image")


def _alpha3(alpha: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if alpha.shape != shape[:2]:
        raise ArgumentError(f"alpha {alpha.shape} does not match image {shape[:2]}")
    a = alpha.astype(np.float32)
    if a.max(initial=0.0) > 1.0:
        a = a / 255.0
    return a[..., None]


def composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * fg + (1 - alpha) * bg`` as uint8."""
    a = _alpha3(alpha, fg.shape)
    out = bg.astype(np.float32)
    out += a * (fg.astype(np.float32) - out)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def blur_background(image: np.ndarray, alpha: np.ndarray, strength: int = 21) -> np.ndarray:
    """Blur what is not the object; the blur is done at 1/4 size (cheap, and smoother)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = max(1, strength // 4) * 2 + 1
    small = cv2.GaussianBlur(small, (k, k), 0)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return composite(image, bg, alpha)


def replace_background(image: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Put the object on ``background`` (resized to cover the frame, centre-cropped)."""
    h, w = image.shape[:2]
    bh, bw = background.shape[:2]
    s = max(w / bw, h / bh)
    nw, nh = max(w, round(bw * s)), max(h, round(bh * s))
    bg = cv2.resize(background, (nw, nh), interpolation=cv2.INTER_LINEAR)
    y0, x0 = (nh - h) // 2, (nw - w) // 2
    return composite(image, bg[y0:y0 + h, x0:x0 + w], alpha)


def remove_background(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA: the frame with the matte as its alpha channel."""
    a = np.clip(_alpha3(alpha, image.shape)[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.dstack([image, a])


def cutout(image: np.ndarray, alpha: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """RGBA crop of the objects: the matte's bounding box (where alpha > threshold)."""
    rgba = remove_background(image, alpha)
    a = _alpha3(alpha, image.shape)[..., 0]
    ys, xs = np.nonzero(a > threshold)
    if xs.size == 0:
        return rgba[:1, :1] * 0
    return rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def flatten(rgba: np.ndarray) -> np.ndarray:
    """RGBA on black, for a video."""
    return composite(rgba[..., :3], np.zeros_like(rgba[..., :3]), rgba[..., 3])
