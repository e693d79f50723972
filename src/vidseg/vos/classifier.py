"""A per-object pixel classifier learned online from the given mask.

Each pixel is described by multi-scale colour context (its Lab colour, the mean Lab colour of a
small and a larger neighbourhood, local contrast and gradient), expanded to second order; an
L2-regularised logistic regression (a few Newton steps, numpy only) separates the object from
everything else. Context features tell apart an object's dark tyre from the dark road around it
where a colour histogram cannot.
"""

from __future__ import annotations

import cv2
import numpy as np

LOGIT_CLIP = 6.0


def pixel_features(lab: np.ndarray) -> np.ndarray:
    """Second-order multi-scale colour features, HxWxD float32, of a Lab uint8 image."""
    x = lab.astype(np.float32) * (1.0 / 255.0)
    small = cv2.blur(x, (5, 5))
    large = cv2.blur(x, (15, 15))
    lum = x[..., 0]
    contrast = np.sqrt(np.maximum(cv2.blur(lum * lum, (5, 5)) - small[..., 0] ** 2, 0.0))
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt(gx * gx + gy * gy)
    base = np.concatenate([x, small, large, contrast[..., None], grad[..., None]], axis=2)
    d = base.shape[2]
    cols = [base]
    iu, ju = np.triu_indices(d)
    cols.append(base[..., iu] * base[..., ju])
    return np.concatenate(cols, axis=2)


class PixelClassifier:
    """One-vs-rest logistic regression on :func:`pixel_features`."""

    def __init__(self, l2: float = 1.0, iterations: int = 8, samples: int = 3000, seed: int = 0) -> None:
        self.l2 = l2
        self.iterations = iterations
        self.samples = samples
        self._rng = np.random.default_rng(seed)
        self._mean: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        self._w: np.ndarray | None = None

    def fit(self, feats: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None) -> None:
        """Learn from ``feats`` (HxWxD) with soft ``target`` in 0..1; ``weight`` favours pixels."""
        x = feats.reshape(-1, feats.shape[2])
        y = target.ravel() > 0.5
        wt = np.ones(y.shape, np.float32) if weight is None else weight.ravel()
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        if pos.size == 0 or neg.size == 0:
            self._w = None
            return
        pick = np.concatenate([self._sample(pos, wt), self._sample(neg, wt)])
        xs = x[pick].astype(np.float64)
        ys = y[pick].astype(np.float64)
        self._mean = xs.mean(axis=0)
        self._scale = xs.std(axis=0) + 1e-3
        xs = np.hstack([(xs - self._mean) / self._scale, np.ones((xs.shape[0], 1))])
        # balance the classes
        sw = np.where(ys > 0, 0.5 / max(1, (ys > 0).sum()), 0.5 / max(1, (ys == 0).sum())) * xs.shape[0]
        w = np.zeros(xs.shape[1])
        reg = self.l2 * np.eye(xs.shape[1])
        reg[-1, -1] = 1e-6
        for _ in range(self.iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(xs @ w, -30, 30)))
            grad = xs.T @ (sw * (p - ys)) + reg @ w
            hess = (xs * (sw * p * (1 - p))[:, None]).T @ xs + reg
            w -= np.linalg.solve(hess, grad)
        self._w = w

    def _sample(self, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
        if index.size <= self.samples:
            return index
        p = weight[index].astype(np.float64)
        p = p / p.sum() if p.sum() > 0 else None
        return self._rng.choice(index, self.samples, replace=False, p=p)

    @property
    def trained(self) -> bool:
        return self._w is not None

    def logit(self, feats: np.ndarray) -> np.ndarray:
        """Clipped log-odds of the object per pixel (HxW float32); 0 when untrained."""
        h, w, d = feats.shape
        if self._w is None or self._mean is None or self._scale is None:
            return np.zeros((h, w), np.float32)
        wv = (self._w[:-1] / self._scale).astype(np.float32)
        bias = float(self._w[-1] - (self._mean / self._scale) @ self._w[:-1])
        z = feats.reshape(-1, d) @ wv + bias
        return np.clip(z, -LOGIT_CLIP, LOGIT_CLIP).reshape(h, w)
