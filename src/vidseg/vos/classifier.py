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
    """Multi-scale colour features, HxWxD float32, of a Lab uint8 image (expanded to second order
    inside the classifier)."""
    x = lab.astype(np.float32) * (1.0 / 255.0)
    small = cv2.blur(x, (5, 5))
    large = cv2.blur(x, (15, 15))
    lum = x[..., 0]
    contrast = np.sqrt(np.maximum(cv2.blur(lum * lum, (5, 5)) - small[..., 0] ** 2, 0.0))
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    grad = np.sqrt(gx * gx + gy * gy)
    return np.concatenate([x, small, large, contrast[..., None], grad[..., None]], axis=2)


def _expand(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` with all pairwise products appended (second-order features)."""
    iu, ju = np.triu_indices(x.shape[1])
    return np.hstack([x, x[:, iu] * x[:, ju]])


class PixelClassifier:
    """One-vs-rest logistic regression on :func:`pixel_features`."""

    def __init__(self, l2: float = 1.0, iterations: int = 6, samples: int = 1000, seed: int = 0,
                 warm_iterations: int = 2) -> None:
        self.l2 = l2
        self.iterations = iterations
        self.warm_iterations = warm_iterations
        self.samples = samples
        self._rng = np.random.default_rng(seed)
        self._mean: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        self._w_std: np.ndarray | None = None  # weights on the standardised features
        self._quad: np.ndarray | None = None  # D x D, so that logit = x A x + b x + c
        self._lin: np.ndarray | None = None
        self._bias = 0.0

    def sample(self, feats: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
               limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Training pixels of one frame: ``(features N x D, labels N)``, at most ``limit`` (default
        ``samples``) per class drawn with probability ``weight``; ``None`` if a class is missing."""
        x = feats.reshape(-1, feats.shape[2])
        y = target.ravel() > 0.5
        wt = np.ones(y.shape, np.float32) if weight is None else weight.ravel()
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
        if pos.size == 0 or neg.size == 0:
            return None
        n = self.samples if limit is None else limit
        pick = np.concatenate([self._sample(pos, wt, n), self._sample(neg, wt, n)])
        return x[pick].copy(), y[pick]

    def fit(self, feats: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None) -> None:
        """Learn from ``feats`` (HxWxD) with soft ``target`` in 0..1; ``weight`` favours pixels."""
        s = self.sample(feats, target, weight)
        if s is None:
            self._quad = self._lin = None
            return
        self.fit_samples([s])

    def fit_samples(self, sets: list[tuple[np.ndarray, np.ndarray]], first_weight: float = 1.0,
                    *, warm: bool = False) -> None:
        """Learn from several frames' samples (see :meth:`sample`); the first set weighs
        ``first_weight`` times the others. ``warm`` refines the current model (keeping its
        feature scaling) with ``warm_iterations`` Newton steps instead of starting over."""
        x = np.concatenate([s[0] for s in sets]).astype(np.float64)
        y = np.concatenate([s[1] for s in sets]).astype(np.float64)
        fw = np.concatenate([np.full(len(s[1]), first_weight if i == 0 else 1.0) for i, s in enumerate(sets)])
        xs = _expand(x)
        warm = warm and self._w_std is not None and self._mean is not None
        if not warm:
            self._mean = xs.mean(axis=0)
            self._scale = xs.std(axis=0) + 1e-3
        assert self._mean is not None and self._scale is not None
        xs = np.hstack([(xs - self._mean) / self._scale, np.ones((xs.shape[0], 1))])
        # balance the classes
        sw = np.where(y > 0, 0.5 / max(1, (y > 0).sum()), 0.5 / max(1, (y == 0).sum())) * xs.shape[0] * fw
        w = self._w_std.copy() if warm and self._w_std is not None else np.zeros(xs.shape[1])
        reg = self.l2 * np.eye(xs.shape[1])
        reg[-1, -1] = 1e-6
        # einsum, not BLAS: OpenBLAS threads spin badly on a busy 2-core machine (10x slower here)
        for _ in range(self.warm_iterations if warm else self.iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(np.einsum("ni,i->n", xs, w), -30, 30)))
            grad = np.einsum("ni,n->i", xs, sw * (p - y)) + reg @ w
            hess = np.einsum("ni,nj->ij", xs * (sw * p * (1 - p))[:, None], xs) + reg
            w -= np.linalg.solve(hess, grad)
        self._w_std = w
        d = x.shape[1]
        coef = w[:-1] / self._scale
        self._lin = coef[:d].astype(np.float32)
        quad = np.zeros((d, d))
        iu, ju = np.triu_indices(d)
        quad[iu, ju] += 0.5 * coef[d:]
        quad[ju, iu] += 0.5 * coef[d:]
        self._quad = quad.astype(np.float32)
        self._bias = float(w[-1] - (self._mean / self._scale) @ w[:-1])

    def _sample(self, index: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
        if index.size <= n:
            return index
        p = weight[index].astype(np.float64)
        p = p / p.sum() if p.sum() > 0 else None
        return self._rng.choice(index, n, replace=False, p=p)

    @property
    def trained(self) -> bool:
        return self._quad is not None

    def logit(self, feats: np.ndarray) -> np.ndarray:
        """Clipped log-odds of the object per pixel (HxW float32); 0 when untrained."""
        h, w, d = feats.shape
        if self._quad is None or self._lin is None:
            return np.zeros((h, w), np.float32)
        x = feats.reshape(-1, d)
        z = np.einsum("ni,ni->n", np.einsum("ni,ij->nj", x, self._quad) + self._lin, x) + self._bias
        return np.clip(z, -LOGIT_CLIP, LOGIT_CLIP).reshape(h, w)
