"""A model ready to run on frames: card + backend + the card's pre-processing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.models.backends import OnnxBackend, TfliteBackend, infer_card, load_backend
from vidseg.models.card import ModelCard
from vidseg.models.fetch import companion_paths, ensure_model
from vidseg.models.registry import resolve


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the model input: ``input = frame * scale + (pad_x, pad_y)``."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    frame_w: int
    frame_h: int


class Model:
    """A segmentation model: ``prepare(image)`` makes its input tensor, ``run(image)`` its outputs."""

    def __init__(self, card: ModelCard, backend: OnnxBackend | TfliteBackend,
                 parts: dict[str, OnnxBackend | TfliteBackend] | None = None) -> None:
        self.card = card
        self.backend = backend
        self.parts = dict(parts or {})  # companion models by role (e.g. a person detector)
        self._check_input()
        k = 1 if card.color == "GRAY" else 3
        self._mean = np.asarray(card.mean if len(card.mean) == k else card.mean * k, np.float32)
        self._std = np.asarray(card.std if len(card.std) == k else card.std * k, np.float32)
        # (x / scale - mean) / std == x * a + b
        self._a = (1.0 / (card.scale * self._std)).astype(np.float32)
        self._b = (-self._mean / self._std).astype(np.float32)
        self._identity = bool(np.allclose(self._b, 0.0) and np.allclose(self._a, self._a[0]))

    def _check_input(self) -> None:
        shape = self.backend.input_shape
        if len(shape) != 4:
            return
        c = self.card
        h, w = (shape[1], shape[2]) if c.layout == "NHWC" else (shape[2], shape[3])
        if (h is not None and h != c.height) or (w is not None and w != c.width):
            raise InputError(f"model card says input {c.width}x{c.height} ({c.layout}) but the model takes {list(shape)}", c.file)

    def letterbox(self, frame_w: int, frame_h: int) -> Letterbox:
        c = self.card
        if c.resize == "stretch":
            return Letterbox(c.width / frame_w, c.height / frame_h, 0.0, 0.0, frame_w, frame_h)
        s = min(c.width / frame_w, c.height / frame_h)
        nw, nh = round(frame_w * s), round(frame_h * s)
        return Letterbox(s, s, (c.width - nw) // 2, (c.height - nh) // 2, frame_w, frame_h)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """The model input tensor (batch of one) for an RGB uint8 frame, and its placement."""
        c = self.card
        fh, fw = image.shape[:2]
        lb = self.letterbox(fw, fh)
        if c.resize == "stretch":
            # bilinear, as GPU pipelines sample (INTER_AREA costs ~10x more for a small gain)
            small = cv2.resize(image, (c.width, c.height), interpolation=cv2.INTER_LINEAR)
        else:
            nw, nh = round(fw * lb.scale_x), round(fh * lb.scale_y)
            small = np.full((c.height, c.width, 3), 114, np.uint8)
            px, py = int(lb.pad_x), int(lb.pad_y)
            small[py:py + nh, px:px + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        if c.color == "BGR":
            small = small[..., ::-1]
        elif c.color == "GRAY":  # one channel, ITU-R 601 luma as OpenCV computes it
            small = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)[..., None]
        if c.dtype == "uint8":
            x = np.ascontiguousarray(small)
        elif self._identity:
            x = small.astype(np.float32) * self._a[0]
        else:
            x = small.astype(np.float32) * self._a + self._b
        x = x.transpose(2, 0, 1)[None] if c.layout == "NCHW" else x[None]
        return np.ascontiguousarray(x), lb

    def run(self, image: np.ndarray) -> tuple[list[np.ndarray], Letterbox]:
        """The raw outputs for one RGB frame."""
        x, lb = self.prepare(image)
        return self.backend.run(x), lb


def load_model(name_or_path: str, *, threads: int = 1, download_ok: bool = True) -> Model:
    """Load a registry model (fetched into the cache when missing) or a model file."""
    card, path = resolve(name_or_path)
    if path is None:
        assert card is not None
        path = ensure_model(card, download_ok=download_ok)
        card = dataclasses.replace(card, file=str(path))
    backend = load_backend(path, threads=threads)
    if card is None:
        card = infer_card(backend, path)
    parts = {role: load_backend(p, threads=threads) for role, p in companion_paths(card, download_ok=download_ok).items()}
    return Model(card, backend, parts)
