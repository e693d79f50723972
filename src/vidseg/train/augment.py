"""Photometric and geometric augmentation of a training pair (numpy + OpenCV, seeded).

``augment(image, target, rng)`` takes an HxWx3 uint8 RGB image and a ``(C, H, W)`` float32
target (hard or soft probabilities) and returns both changed the same way: a left-right flip,
a random scale (0.75-1.35) and crop back to the same size, brightness / contrast / gamma, a
Gaussian blur, sensor noise and, now and then, grayscale. Every draw comes from ``rng``, so a
run with the same seed sees the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each augmentation."""

    flip: float = 0.5
    scale: tuple[float, float] = (0.75, 1.35)
    scale_p: float = 0.7
    brightness: float = 0.25
    contrast: float = 0.3
    gamma: float = 0.3
    blur_p: float = 0.2
    noise_p: float = 0.3
    noise_sigma: float = 6.0
    gray_p: float = 0.2


def _scale_crop(image: np.ndarray, target: np.ndarray, s: float, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    h, w = image.shape[:2]
    nw, nh = max(w, round(w * s)), max(h, round(h * s))
    if s < 1.0:  # zoom out: shrink and pad with the border pixels (the object gets smaller)
        sw, sh = max(8, round(w * s)), max(8, round(h * s))
        x0, y0 = int(rng.integers(0, w - sw + 1)), int(rng.integers(0, h - sh + 1))
        m = np.array([[sw / w, 0, x0], [0, sh / h, y0]], np.float32)
    else:
        x0, y0 = int(rng.integers(0, nw - w + 1)), int(rng.integers(0, nh - h + 1))
        m = np.array([[nw / w, 0, -x0], [0, nh / h, -y0]], np.float32)
    img = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    tgt = np.stack([cv2.warpAffine(t, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
                    for t in target])
    return img, tgt


def augment(image: np.ndarray, target: np.ndarray, rng: np.random.Generator,
            cfg: AugmentConfig = AugmentConfig()) -> tuple[np.ndarray, np.ndarray]:
    """The augmented ``(image, target)`` (see the module docstring)."""
    img, tgt = image, target
    if rng.random() < cfg.flip:
        img, tgt = img[:, ::-1], tgt[:, :, ::-1]
    if rng.random() < cfg.scale_p:
        img, tgt = _scale_crop(np.ascontiguousarray(img), np.ascontiguousarray(tgt),
                               float(rng.uniform(*cfg.scale)), rng)
    x = img.astype(np.float32) / 255.0
    x = x * float(rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)) \
        + float(rng.uniform(-cfg.brightness, cfg.brightness)) * 0.5
    x = np.clip(x, 0.0, 1.0) ** float(np.exp(rng.uniform(-cfg.gamma, cfg.gamma)))
    if rng.random() < cfg.blur_p:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.5, 1.5)))
    if rng.random() < cfg.noise_p:
        x = x + rng.normal(0.0, cfg.noise_sigma / 255.0, x.shape).astype(np.float32)
    if rng.random() < cfg.gray_p:
        x = np.repeat(x @ LUMA[:, None], 3, axis=2)
    out = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out, np.ascontiguousarray(tgt, dtype=np.float32)
