"""A fixed-size appearance memory per object: the given frame's colour model plus a few
confident recent ones (FIFO), combined into one log-likelihood-ratio lookup table."""

from __future__ import annotations

from collections import deque

import numpy as np

from vidseg.vos.appearance import density

LLR_CLIP = 4.0


class ColourMemory:
    """Colour densities of one object and of its background, from the given and recent frames."""

    def __init__(self, bins: int, size: int, recent_weight: float, local_weight: float) -> None:
        self.bins = bins
        self.recent_weight = recent_weight if size > 1 else 0.0
        self.local_weight = local_weight
        self._given: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=max(1, size - 1))
        self._lut: np.ndarray | None = None

    def _densities(self, fg: np.ndarray, ring: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p_bg = density(rest, self.bins)
        if ring.sum() > 0:
            p_bg = self.local_weight * density(ring, self.bins) + (1.0 - self.local_weight) * p_bg
        return density(fg, self.bins), p_bg

    def set_given(self, fg: np.ndarray, ring: np.ndarray, rest: np.ndarray) -> None:
        """Start over from a given mask's counts (object, local band, rest of the frame)."""
        self._given = self._densities(fg, ring, rest)
        self._recent.clear()
        self._lut = None

    def add(self, fg: np.ndarray, ring: np.ndarray, rest: np.ndarray) -> None:
        """Remember a confident frame's counts (the oldest recent one is forgotten)."""
        self._recent.append(self._densities(fg, ring, rest))
        self._lut = None

    @property
    def lut(self) -> np.ndarray:
        """log p(colour | object) - log p(colour | background), per colour bin (float32)."""
        if self._lut is None:
            if self._given is None:
                raise RuntimeError("colour memory used before a mask was given")
            p_fg, p_bg = self._given
            if self._recent and self.recent_weight > 0:
                w = self.recent_weight
                p_fg = (1 - w) * p_fg + w * np.mean([r[0] for r in self._recent], axis=0)
                p_bg = (1 - w) * p_bg + w * np.mean([r[1] for r in self._recent], axis=0)
            self._lut = np.clip(np.log(p_fg) - np.log(p_bg), -LLR_CLIP, LLR_CLIP).astype(np.float32)
        return self._lut

    def __len__(self) -> int:
        return (self._given is not None) + len(self._recent)
