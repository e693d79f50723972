"""The propagation engine: a Cutie-like stepping tracker on classical CV and online learning.

Each frame, at a reduced working resolution: the previous soft per-object probabilities are
pulled along backward DIS optical flow (blurred where the forward-backward check fails); a
bilateral grid over (position, Lab colour) transfers the previous frame's labels to nearby pixels
of similar colour; each object's appearance memory (a colour histogram ratio and a logistic
regression on multi-scale colour context, both learnt from the given mask and refreshed from a
few confident frames) scores every pixel. These are fused in log-odds and a softmax over
background and objects gives the new probabilities; appearance may only add pixels within a
search window around where the flow expects the object. The probabilities are upsampled to full
resolution (optionally through a fast guided filter) and the argmax gives one label per pixel.
An object whose area collapses is marked lost: it is searched for over the whole frame by
appearance alone and comes back only with a strong, large enough match, so it is not
hallucinated while hidden.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidseg.vos._common import SteppingTracker, check_frame, largest_component, with_background
from vidseg.vos._ops import channel_max, channel_sum
from vidseg.vos.appearance import band, colour_counts, object_size, quantize_lab
from vidseg.vos.bilateral import BilateralGrid
from vidseg.vos.classifier import PixelClassifier, pixel_features
from vidseg.vos.config import TrackerConfig, resolve_config
from vidseg.vos.flow import FlowEstimator, Warper
from vidseg.vos.memory import ColourMemory
from vidseg.vos.refine import GuidedUpsampler

_TINY = 1e-5


@dataclass
class _Object:
    memory: ColourMemory
    classifier: PixelClassifier
    ref_area: float
    area: float
    lost: bool = False
    last_memory: int = 0
    given_samples: tuple[np.ndarray, np.ndarray] | None = None
    recent_samples: deque[tuple[np.ndarray, np.ndarray]] = field(default_factory=deque)


class FlowTracker(SteppingTracker):
    """Semi-supervised multi-object video segmentation, one frame per :meth:`step` call."""

    def __init__(self, config: TrackerConfig | str = "default") -> None:
        self.config = resolve_config(config)
        self._flow = FlowEstimator(self.config.flow_preset)
        self._guided = GuidedUpsampler(self.config.guided_radius, self.config.guided_eps)
        self.reset()

    def reset(self) -> None:
        """Forget every object and frame: the next step needs a mask again."""
        self._ids: list[int] = []
        self._objects: dict[int, _Object] = {}
        self._prob: np.ndarray | None = None  # h x w x (K+1), channel 0 = background
        self._prev_gray: np.ndarray | None = None
        self._prev_lab: np.ndarray | None = None
        self._grid: BilateralGrid | None = None
        self._full_size: tuple[int, int] | None = None  # (H, W)
        self._small_size: tuple[int, int] | None = None  # (h, w)
        self._warper: Warper | None = None
        self._last_full: np.ndarray | None = None  # H x W x K refined probabilities
        self._t = 0

    # -- one frame --------------------------------------------------------------------------
    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray:
        """Track one frame; ``mask`` (HxW uint8 ids) adds or corrects the objects it gives.

        Returns the HxW uint8 label map (0 = background).
        """
        image, mask, given, gray, lab = self._begin(image, mask, objects)
        cfg = self.config
        idx = quantize_lab(lab, cfg.color_bins)
        feats = self._features(lab)
        post = self._propagate(gray, lab, idx, feats) if self._ids else None
        if mask is not None:
            post = self._apply_mask(post, mask, given, idx, feats)
        assert post is not None
        guide_small = gray.astype(np.float32) * (1.0 / 255.0)
        guide_full = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)
        q_small, q_full = self._guided(guide_small, np.ascontiguousarray(post[..., 1:]), guide_full)
        assert q_full is not None
        labels = self._labels(q_full)
        if mask is not None:
            claimed = np.isin(mask, given)
            labels[np.isin(labels, given)] = 0
            labels[claimed] = mask[claimed]
            self._prob = post
        else:
            self._prob = self._sharpen(q_small)
            self._remember(idx, feats)
        self._last_full = q_full
        self._prev_gray = gray
        self._prev_lab = lab
        self._t += 1
        return labels

    # -- checks -----------------------------------------------------------------------------
    def _check_image(self, image: np.ndarray) -> np.ndarray:
        image, size = check_frame(image, self._full_size)
        if self._full_size is None:
            self._full_size = size
            w = min(self.config.work_width, size[1])
            h = max(8, int(round(size[0] * w / size[1])))
            self._small_size = (h, w)
            self._warper = Warper(h, w)
            if self.config.bilateral_weight > 0:
                self._grid = BilateralGrid(h, w, self.config.bilateral_cell, self.config.bilateral_bits)
        return image

    # -- propagation ------------------------------------------------------------------------
    def _features(self, lab: np.ndarray) -> np.ndarray | None:
        cfg = self.config
        if cfg.classifier_weight <= 0:
            return None
        h, w = lab.shape[:2]
        size = (max(8, int(round(w * cfg.classifier_scale))), max(8, int(round(h * cfg.classifier_scale))))
        return pixel_features(cv2.resize(lab, size, interpolation=cv2.INTER_AREA))

    def _classifier_logit(self, o: _Object, feats: np.ndarray | None) -> np.ndarray | float:
        if feats is None or not o.classifier.trained:
            return 0.0
        h, w = self._small_size  # type: ignore[misc]
        return cv2.resize(o.classifier.logit(feats), (w, h), interpolation=cv2.INTER_LINEAR)

    def _propagate(self, gray: np.ndarray, lab: np.ndarray, idx: np.ndarray,
                   feats: np.ndarray | None) -> np.ndarray:
        cfg = self.config
        assert self._prob is not None and self._prev_gray is not None and self._warper is not None
        backward = self._flow(gray, self._prev_gray)
        maps = self._warper.maps(backward)
        warped = self._warper.warp(self._prob, maps)
        trust = None
        if cfg.flow_check:
            forward = self._flow(self._prev_gray, gray)
            trust = self._warper.consistency(backward, forward, maps, cfg.fb_sigma)[..., None]
        local = None
        if self._grid is not None and self._prev_lab is not None:
            if cfg.bilateral_warp:
                src_lab = cv2.remap(self._prev_lab, maps[0], maps[1], cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_REPLICATE)
                local, _ = self._grid.transfer(self._grid.cells(src_lab), warped, self._grid.cells(lab),
                                               None if trust is None else trust[..., 0])
            else:
                local, _ = self._grid.transfer(self._grid.cells(self._prev_lab), self._prob,
                                               self._grid.cells(lab))
        if trust is not None:
            # where the flow is unreliable (disocclusions, fast non-rigid motion) the prior only
            # says which objects are around: the warped maps blurred over a wide window
            k = 2 * max(1, int(round(cfg.untrusted_radius * min(warped.shape[:2])))) + 1
            wide = cv2.blur(warped, (k, k))
            wide = wide if wide.ndim == 3 else wide[..., None]
            warped = trust * warped + (1.0 - trust) * wide
        if cfg.prior_blur > 0:
            blurred = cv2.GaussianBlur(warped, (0, 0), cfg.prior_blur)
            warped = blurred if blurred.ndim == 3 else blurred[..., None]
        obj = warped[..., 1:]
        warped[..., 0] = np.clip(1.0 - channel_sum(obj), 0.0, 1.0)
        # The flow prior is never certain, so appearance may overturn it, but only within a
        # search window around where each object is expected: far from it, objects need the flow.
        eps = cfg.prior_eps
        logits = np.empty_like(warped)
        logits[..., 0] = np.log(warped[..., 0] + eps)
        if local is not None:
            logits[..., 0] += cfg.bilateral_weight * np.log(local[..., 0] + eps)
        for c, oid in enumerate(self._ids, start=1):
            o = self._objects[oid]
            llr = o.memory.lut[idx] + cfg.classifier_weight * self._classifier_logit(o, feats)
            if o.lost:  # searched for everywhere by appearance alone (log-odds vs background)
                logits[..., c] = logits[..., 0] + llr
                continue
            floor = eps * self._near(warped[..., c], o.ref_area) + _TINY
            logits[..., c] = np.log(warped[..., c] + floor) + cfg.color_weight * llr
            if local is not None:
                logits[..., c] += cfg.bilateral_weight * np.log(local[..., c] + floor)
        logits -= channel_max(logits)[..., None]
        post = np.exp(logits)
        post /= channel_sum(post)[..., None]
        self._track_losses(post, idx)
        return post

    def _near(self, prior: np.ndarray, ref_area: float) -> np.ndarray:
        """1 within the search radius of where the object is expected, else 0."""
        r = max(1, int(round(self.config.search_radius * object_size(ref_area))))
        core = (prior > 0.3).astype(np.uint8)
        return (cv2.blur(core, (2 * r + 1, 2 * r + 1)) > 0).astype(np.float32)

    def _track_losses(self, post: np.ndarray, idx: np.ndarray) -> None:
        cfg = self.config
        for c, oid in enumerate(self._ids, start=1):
            o = self._objects[oid]
            fg = post[..., c] > 0.5
            area = float(fg.sum())
            if o.lost:
                ok = area >= cfg.reacquire_fraction * o.ref_area
                if ok:
                    fg = largest_component(fg)
                    area = float(fg.sum())
                    ok = (area >= cfg.reacquire_fraction * o.ref_area
                          and float(o.memory.lut[idx[fg]].mean()) >= cfg.reacquire_score)
                if ok:
                    o.lost = False
                    post[..., c] *= fg
                else:
                    post[..., c] = 0.0
                    area = 0.0
            elif area < cfg.lost_fraction * o.ref_area:
                o.lost = True
            elif cfg.max_growth > 0 and area > cfg.max_growth * o.ref_area:
                # area guard: keep only the most probable pixels, up to the allowed area
                flat = post[..., c].ravel()
                keep = int(cfg.max_growth * o.ref_area)
                tau = float(np.partition(flat, flat.size - keep)[flat.size - keep])
                weak = post[..., c] < tau
                post[..., c][weak] = np.minimum(post[..., c][weak], 0.45)
                area = float(keep)
            o.area = area
        post[..., 0] = np.clip(1.0 - channel_sum(post[..., 1:]), 0.0, 1.0)

    def _apply_mask(self, post: np.ndarray | None, mask: np.ndarray, given: list[int],
                    idx: np.ndarray, feats: np.ndarray | None) -> np.ndarray:
        cfg = self.config
        h, w = self._small_size  # type: ignore[misc]
        if post is None:
            post = np.ones((h, w, 1), np.float32)
        claimed = cv2.resize(np.isin(mask, given).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        post[..., 1:] *= (1.0 - claimed)[..., None]
        for oid in given:
            m = cv2.resize((mask == oid).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
            if oid in self._objects:
                post[..., self._ids.index(oid) + 1] = m
            else:
                post = np.concatenate([post, m[..., None]], axis=2)
                self._ids.append(oid)
                self._objects[oid] = _Object(
                    ColourMemory(cfg.color_bins, cfg.memory_size, cfg.memory_weight, cfg.local_bg_weight),
                    PixelClassifier(samples=cfg.classifier_samples), ref_area=1.0, area=0.0)
            o = self._objects[oid]
            o.memory.set_given(*colour_counts(idx, m, cfg.color_bins, cfg.band_width))
            o.recent_samples = deque(maxlen=max(1, cfg.memory_size - 1))
            o.given_samples = self._samples(o, feats, m)
            if o.given_samples is not None:
                o.classifier.fit_samples([o.given_samples])
            o.ref_area = o.area = max(1.0, float(m.sum()))
            o.lost = False
            o.last_memory = self._t
        post[..., 0] = np.clip(1.0 - channel_sum(post[..., 1:]), 0.0, 1.0)
        return np.ascontiguousarray(post, dtype=np.float32)

    # -- outputs and state ------------------------------------------------------------------
    def _labels(self, q_full: np.ndarray) -> np.ndarray:
        ids = np.array([0, *self._ids], dtype=np.uint8)
        if len(self._ids) == 1:
            return np.where(q_full[..., 0] > 0.5, ids[1], 0).astype(np.uint8)
        best = 1.0 - channel_sum(q_full)
        labels = np.zeros(best.shape, np.uint8)
        for c in range(q_full.shape[2]):
            q = q_full[..., c]
            win = q > best
            labels[win] = ids[c + 1]
            np.maximum(best, q, out=best)
        return labels

    def _sharpen(self, q_small: np.ndarray) -> np.ndarray:
        return with_background(q_small, self.config.sharpen)

    def _samples(self, o: _Object, feats: np.ndarray | None, prob: np.ndarray, limit: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray] | None:
        """Classifier training pixels of an object from its probability map; the local
        background band is sampled more."""
        if feats is None:
            return None
        fm = cv2.resize(prob, (feats.shape[1], feats.shape[0]), interpolation=cv2.INTER_AREA)
        fg = fm > 0.5
        ring = band(fg, max(1, int(round(self.config.band_width * object_size(float(fg.sum()))))))
        return o.classifier.sample(feats, fm, 1.0 + 3.0 * ring, limit)

    def _remember(self, idx: np.ndarray, feats: np.ndarray | None) -> None:
        """Store confident frames in each object's fixed-size memory and follow slow area changes."""
        cfg = self.config
        assert self._prob is not None
        for c, oid in enumerate(self._ids, start=1):
            o = self._objects[oid]
            if o.lost or o.area <= 0:
                continue
            ratio = o.area / o.ref_area
            if not 0.7 <= ratio <= 1.4:
                continue
            p = self._prob[..., c]
            fg = p > 0.5
            certainty = float(np.abs(p[fg] - 0.5).mean()) * 2 if fg.any() else 0.0
            if certainty < 0.6:
                continue
            o.ref_area = 0.9 * o.ref_area + 0.1 * o.area
            if self._t - o.last_memory >= cfg.memory_every and cfg.memory_size > 1:
                o.memory.add(*colour_counts(idx, p, cfg.color_bins, cfg.band_width))
                o.last_memory = self._t
                recent = self._samples(o, feats, p, cfg.classifier_recent_samples)
                if recent is not None and o.given_samples is not None:
                    o.recent_samples.append(recent)
                    o.classifier.fit_samples([o.given_samples, *o.recent_samples],
                                             first_weight=cfg.memory_given_weight, warm=True)
