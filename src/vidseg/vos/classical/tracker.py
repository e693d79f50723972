"""The classical engine: motion-compensated bilateral-grid label transfer with a memory.

Each frame, at a reduced working resolution:

1. the previous soft labels are pulled onto the current frame along backward DIS optical flow;
   each object's channel moves by its own rotation, scale and shift fitted with RANSAC to the
   flow over its confident pixels (``rigid_mix``, ``object_affine``), which the flow's smoothing
   across the object's edges does not drag onto the background; the camera's motion is fitted the
   same way to the background's flow and accumulated;
2. a fixed-size memory (the given frames plus a few confident recent ones: each object moved to
   where it is now, the background partly moved by the camera's motion and partly left in place)
   and, with a small weight, the warped previous labels are splatted into a bilateral grid over
   (y, x, L, a, b), blurred and sliced at the current pixels: a local classifier by position AND
   colour (Maerki et al., CVPR 2016). The previous frame's own labels get little weight: they
   reinforce any drift, while the memory is placed by motion;
3. the blurred warped prior (with a floor near each object, since the flow can be wrong), the
   local evidence and each object's global colour log-likelihood ratio from its given frame are
   fused in log space; a softmax gives the per-object probabilities; small holes inside an object
   are filled;
4. a fast guided filter upsamples them to full resolution (or, with ``full_slice``, the fusion is
   redone at every full-resolution pixel), and the argmax with background gives the labels.

An object whose area collapses is lost: it is searched for by colour alone near where it was last
seen (that place followed with the camera, the search widening while it stays lost) and comes
back only with a strong match of plausible size, so it is not hallucinated while hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vidseg.vos._ops import channel_max, channel_sum, with_background
from vidseg.vos.classical.appearance import colour_llr, quantize_lab
from vidseg.vos.classical.config import ClassicalConfig, get_classical_preset
from vidseg.vos.classical.flow import FlowEstimator
from vidseg.vos.classical.grid import LabGrid, SmoothSlicer
from vidseg.vos.classical.memory import FrameMemory, centroids, make_frame
from vidseg.vos.refine import GuidedUpsampler
from vidseg.vos.stepping import SteppingTracker

_EPS = 1e-3


@dataclass
class _Object:
    llr: np.ndarray  # colour log-likelihood-ratio lookup table from the given frame
    ref_area: float  # area (working-resolution pixels) when given
    area: float
    lost: bool = False
    seen: tuple[float, float] | None = None  # last confident centroid (x, y), first frame's pixels
    lost_for: int = 0  # frames since it was lost


class ClassicalTracker(SteppingTracker):
    """The classical engine: semi-supervised multi-object video segmentation, one frame per
    :meth:`step` call (the contract of :mod:`vidseg.vos.stepping`)."""

    def __init__(self, config: ClassicalConfig | str | None = None) -> None:
        """``config``: a :class:`ClassicalConfig`, a preset name (``fast``, ``default``, ``accurate``),
        or ``None`` for the default preset."""
        if isinstance(config, str):
            config = get_classical_preset(config)
        self.config = replace(config) if config is not None else ClassicalConfig()
        self._flow = FlowEstimator(self.config.flow_preset)
        self._guided = GuidedUpsampler(self.config.guided_radius, self.config.guided_eps)
        super().__init__()
        self.reset()

    def twin(self) -> ClassicalTracker:
        """A fresh tracker with this one's settings."""
        return ClassicalTracker(self.config)

    def reset(self) -> None:
        """Forget every object and frame: the next step needs a mask again."""
        super().reset()
        self._state: dict[int, _Object] = {}  # per tracked id
        self._prob: np.ndarray | None = None  # h x w x (K+1) at working resolution
        self._prev_gray: np.ndarray | None = None
        self._prev_lab: np.ndarray | None = None
        self._small_size: tuple[int, int] = (0, 0)
        self._grid: LabGrid | None = None
        self._grid_xy: tuple[np.ndarray, np.ndarray] | None = None
        self._memory = FrameMemory(self.config.memory_given, self.config.memory_recent)
        self._since_memory = 0
        self._pos: dict[int, tuple[float, float]] = {0: (0.0, 0.0)}  # accumulated displacements
        self._camera = np.eye(3)  # current working-resolution pixels -> the first frame's
        self._parts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # for _slice_full
        self._full_pos: np.ndarray | None = None
        self._slicer: SmoothSlicer | None = None
        self._full_slicer: SmoothSlicer | None = None

    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray:
        """Track one frame; ``mask`` (HxW uint8 ids) adds or corrects the objects it gives.

        Returns the HxW uint8 label map (0 = background).
        """
        image, mask, given = self._check_step(image, mask, objects)
        h, w = self._small_size
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        gray, lab = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
        post = self._propagate(gray, lab) if self.objects else None
        if mask is not None:
            post = self._apply_mask(post, mask, given, lab)
        assert post is not None
        if mask is None and self.config.full_slice:
            q_small, q_full = post[..., 1:], self._slice_full(image, post)
        else:
            guide_small = gray.astype(np.float32) * (1.0 / 255.0)
            guide_full = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)
            q_small, q_full_g = self._guided(guide_small, np.ascontiguousarray(post[..., 1:]), guide_full)
            assert q_full_g is not None
            q_full = q_full_g
        labels = self._labels(q_full)
        if mask is not None:
            claimed = np.isin(mask, given)
            labels[np.isin(labels, given)] = 0
            labels[claimed] = mask[claimed]
            self._prob = post
            assert self._grid is not None
            self._memory.add_given(make_frame(self._grid, lab, post, self.objects.ids, self.config.memory_stride,
                                             self._places(post), self._camera))
            self._since_memory = 0
        else:
            self._prob = self._sharpen(post[..., 1:] if self.config.feedback_raw else q_small)
            self._remember(lab)
        self._last_full = q_full
        self._prev_gray, self._prev_lab = gray, lab
        return labels

    def remove_objects(self, ids: Iterable[int]) -> None:
        """Stop tracking ``ids`` (from the next step on): their channels and state are dropped;
        in the memory frames their pixels stay, labelled for nobody."""
        gone = self.objects.remove(ids)
        if self._prob is not None:
            keep = [c for c in range(self._prob.shape[2]) if c not in gone]
            self._prob = np.ascontiguousarray(self._prob[..., keep])
        if self._last_full is not None:
            keep = [c - 1 for c in range(1, self._last_full.shape[2] + 1) if c not in gone]
            self._last_full = np.ascontiguousarray(self._last_full[..., keep])
        for oid in set(self._state) - set(self.objects.ids):
            del self._state[oid]
            self._pos.pop(oid, None)

    # -- set-up -----------------------------------------------------------------------------
    def _start(self, size: tuple[int, int]) -> None:
        cfg = self.config
        w = min(cfg.work_width, size[1])
        h = max(8, int(round(size[0] * w / size[1])))
        self._small_size = (h, w)
        self._grid = LabGrid(h, w, cfg.grid_cell, cfg.grid_levels, cfg.grid_ab_step, cfg.grid_blur)
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        self._grid_xy = (gx, gy)

    # -- propagation ------------------------------------------------------------------------
    def _propagate(self, gray: np.ndarray, lab: np.ndarray) -> np.ndarray:
        cfg = self.config
        assert self._prob is not None and self._prev_gray is not None and self._prev_lab is not None
        assert self._grid is not None and self._grid_xy is not None
        flow = self._flow(gray, self._prev_gray)  # current -> previous
        mx, my = self._grid_xy[0] + flow[..., 0], self._grid_xy[1] + flow[..., 1]
        warped = cv2.remap(self._prob, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
        warped = warped if warped.ndim == 3 else warped[..., None]
        self._object_motion(warped, flow)
        warped[..., 0] = np.clip(1.0 - channel_sum(warped[..., 1:]), 0.0, 1.0)
        c = warped.shape[2]
        if cfg.prev_weight > 0:
            src_lab = cv2.remap(self._prev_lab, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
            values = self._grid.splat(self._grid.cells(src_lab), warped.reshape(-1, c), weight=cfg.prev_weight)
        else:
            values = np.zeros((c, self._grid.size), np.float32)
        if len(self._memory):
            now = self._places(warped) if cfg.centroid_places else {
                oid: self._pos[oid] for oid in self.objects.ids if oid in self._pos}
            now = {oid: v for oid, v in now.items() if oid in self._state and not self._state[oid].lost}
            self._memory.splat(self._grid, values, self.objects, now, self._pos[0],
                               cfg.given_weight, cfg.recent_weight, cfg.memory_camera,
                               None if cfg.camera_model == "median" else self._camera, cfg.camera_share)
        grid = self._grid.blur(values)
        if cfg.smooth_slice:
            if self._slicer is None:
                self._slicer = self._grid.smooth_slicer(*lab.shape[:2])
            local = self._slicer(grid, lab).reshape(warped.shape)
        else:
            local = self._grid.slice(grid, self._grid.cells(lab)).reshape(warped.shape)
        if cfg.prior_blur > 0:
            prior = cv2.GaussianBlur(warped, (0, 0), cfg.prior_blur)
            prior = prior if prior.ndim == 3 else prior[..., None]
        else:
            prior = warped
        if cfg.prior_floor > 0:
            self._floor(prior)
        local = (local + cfg.grid_pseudo * prior) / (channel_sum(local) + cfg.grid_pseudo)[..., None]
        logits = cfg.prior_weight * np.log(prior + _EPS)
        rest = logits.copy()
        logits += cfg.grid_weight * np.log(local + _EPS)
        idx = quantize_lab(lab, cfg.color_bins)
        llrs = {}
        for k, oid in self.objects.with_channels():
            o = self._state[oid]
            llrs[oid] = o.llr[idx]
            if o.lost:
                logits[..., k] = logits[..., 0] + 2.0 * (llrs[oid] - cfg.reacquire_llr)
                rest[..., k] = rest[..., 0] + 2.0 * (llrs[oid] - cfg.reacquire_llr)
            else:
                logits[..., k] += cfg.color_weight * llrs[oid]
                rest[..., k] += cfg.color_weight * llrs[oid]
        post = _softmax(logits)
        self._track_losses(post, llrs)
        if cfg.hole_fraction > 0:
            self._fill_holes(post)
        self._parts = (rest, prior, grid)
        return post

    def _fill_holes(self, post: np.ndarray) -> None:
        """Give each object the small holes inside it (under ``hole_fraction`` of its area): a
        pattern its colour models miss, not background seen through it."""
        frac = self.config.hole_fraction
        for k in range(1, post.shape[2]):
            fg = (post[..., k] > 0.5).astype(np.uint8)
            area = int(fg.sum())
            if area < 16:
                continue
            n, lab, stats, _ = cv2.connectedComponentsWithStats(1 - fg, connectivity=4)
            h, w = fg.shape
            small = np.zeros(n, bool)
            for i in range(1, n):
                x, y, bw, bh, a = stats[i]
                inner = x > 0 and y > 0 and x + bw < w and y + bh < h
                small[i] = inner and a <= frac * area
            if not small.any():
                continue
            hole = small[lab]
            others = channel_sum(post[..., 1:]) - post[..., k]
            hole &= others < 0.5
            post[..., k] = np.where(hole, np.maximum(post[..., k], 1.0 - others), post[..., k])
        post[..., 0] = np.clip(1.0 - channel_sum(post[..., 1:]), 0.0, 1.0)

    def _slice_full(self, image: np.ndarray, post: np.ndarray) -> np.ndarray:
        """Full-resolution object probabilities (HxWxK): the fusion redone at every full-resolution
        pixel with the grid sliced at its own colour, so boundaries follow the image's edges."""
        cfg = self.config
        assert self._parts is not None and self._grid is not None and self._full_size is not None
        rest, prior, grid = self._parts
        h, w = self._full_size
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
        c = post.shape[2]
        if cfg.smooth_slice:
            if self._full_slicer is None:
                self._full_slicer = self._grid.smooth_slicer(h, w)
            local = self._full_slicer(grid, lab).reshape(h, w, c)
        else:
            if self._full_pos is None:
                self._full_pos = self._grid.positions(h, w)
            cells = (self._full_pos + self._grid.colours(lab)).ravel()
            local = self._grid.slice(grid, cells).reshape(h, w, c)
        prior_up = _resize(prior, (w, h))
        local = (local + cfg.grid_pseudo * prior_up) / (channel_sum(local) + cfg.grid_pseudo)[..., None]
        logits = _resize(rest, (w, h)) + cfg.grid_weight * np.log(local + _EPS)
        full = _softmax(logits)[..., 1:]
        allowed = _resize(post[..., 1:], (w, h)) > 0.01
        return np.ascontiguousarray(full * allowed)

    def _floor(self, prior: np.ndarray) -> None:
        """Give each class at least ``prior_floor`` where it may be (the flow can be wrong): the
        background everywhere, an object within ``search_radius`` of its size around its prior."""
        cfg = self.config
        c = prior.shape[2]
        floor = cfg.prior_floor
        prior *= 1.0 - c * floor
        prior[..., 0] += floor
        for k, oid in self.objects.with_channels():
            o = self._state[oid]
            r = max(1, int(round(cfg.search_radius * np.sqrt(max(o.area, o.ref_area * 0.25)))))
            core = (prior[..., k] > 0.3).astype(np.uint8)
            near = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1)))
            prior[..., k] += floor * near.astype(np.float32) + _EPS * (1 - near)

    def _object_motion(self, warped: np.ndarray, flow: np.ndarray) -> None:
        """Follow the camera and each object by the median flow over its confident pixels.

        The accumulated displacements place the memory frames; with ``rigid_mix`` each object
        channel is also pulled partly by its own median motion, which the flow's smoothing
        across the object's edges does not bias.
        """
        a = self.config.rigid_mix
        assert self._prob is not None
        fx, fy = flow[::2, ::2, 0], flow[::2, ::2, 1]
        bg = warped[::2, ::2, 0] > 0.9
        if self.config.memory_camera and int(bg.sum()) >= 16:
            self._pos[0] = (self._pos[0][0] - float(np.median(fy[bg])),
                            self._pos[0][1] - float(np.median(fx[bg])))
            if self.config.camera_model != "median":
                self._camera = self._camera @ _camera_step(flow, warped[..., 0] > 0.9, self.config.camera_model)
        for k, oid in self.objects.with_channels():
            core = warped[::2, ::2, k] > 0.9
            if int(core.sum()) < 8:
                continue
            dx, dy = float(np.median(fx[core])), float(np.median(fy[core]))
            y0, x0 = self._pos.get(oid, (0.0, 0.0))
            self._pos[oid] = (y0 - dy, x0 - dx)
            if a > 0:
                assert self._grid_xy is not None
                gx, gy = self._grid_xy
                m = self._object_affine(flow, core) if self.config.object_affine else None
                if m is None:
                    wx = gx + (1.0 - a) * flow[..., 0] + a * dx
                    wy = gy + (1.0 - a) * flow[..., 1] + a * dy
                else:
                    wx = (1.0 - a) * (gx + flow[..., 0]) + a * (m[0, 0] * gx + m[0, 1] * gy + m[0, 2])
                    wy = (1.0 - a) * (gy + flow[..., 1]) + a * (m[1, 0] * gx + m[1, 1] * gy + m[1, 2])
                warped[..., k] = cv2.remap(self._prob[..., k], wx, wy, cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    @staticmethod
    def _object_affine(flow: np.ndarray, core: np.ndarray) -> np.ndarray | None:
        """The object's own rotation, scale and shift (2x3, current -> previous pixels), fitted
        with RANSAC to the flow over its confident pixels (``core``, on a stride-2 grid)."""
        ys, xs = np.nonzero(core)
        if len(ys) < 12:
            return None
        src = np.stack([xs, ys], axis=1).astype(np.float32) * 2.0
        dst = src + flow[::2, ::2][core]
        m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0)
        return None if m is None else np.asarray(m, np.float32)

    def _track_losses(self, post: np.ndarray, llrs: dict[int, np.ndarray]) -> None:
        cfg = self.config
        for k, oid in self.objects.with_channels():
            o = self._state[oid]
            fg = post[..., k] > 0.5
            area = float(fg.sum())
            if o.lost:
                o.lost_for += 1
                if cfg.reacquire_radius > 0 and o.seen is not None:
                    fg &= self._near_last_seen(o)
                    area = float(fg.sum())
                ok = area >= cfg.reacquire_fraction * o.ref_area
                if ok:
                    fg = largest_component(fg)
                    area = float(fg.sum())
                    ok = (cfg.reacquire_fraction * o.ref_area <= area <= o.ref_area / cfg.reacquire_fraction
                          and float(llrs[oid][fg].mean()) >= cfg.reacquire_llr)
                if ok:
                    o.lost = False
                    post[..., k] *= fg
                else:
                    post[..., k] = 0.0
                    area = 0.0
            elif area < cfg.lost_fraction * o.ref_area:
                o.lost, o.lost_for = True, 0
            elif area > 0:
                ys, xs = np.nonzero(fg)
                o.seen = _map_point(self._camera, float(xs.mean()), float(ys.mean()))
            o.area = area
        post[..., 0] = np.clip(1.0 - channel_sum(post[..., 1:]), 0.0, 1.0)

    def _near_last_seen(self, o: _Object) -> np.ndarray:
        """Where a lost object may come back: within ``reacquire_radius`` object sizes (growing by
        ``reacquire_growth`` per frame lost) of where it was last seen, the camera's motion since
        then followed."""
        cfg = self.config
        assert o.seen is not None and self._grid_xy is not None
        x, y = _map_point(np.linalg.inv(self._camera), *o.seen)
        r = np.sqrt(o.ref_area) * (cfg.reacquire_radius + cfg.reacquire_growth * o.lost_for)
        gx, gy = self._grid_xy
        return np.asarray((gx - x) ** 2 + (gy - y) ** 2 <= r * r)

    def _apply_mask(self, post: np.ndarray | None, mask: np.ndarray, given: list[int],
                    lab: np.ndarray) -> np.ndarray:
        cfg = self.config
        h, w = self._small_size
        if post is None:
            post = np.ones((h, w, 1), np.float32)
        claimed = cv2.resize(np.isin(mask, given).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        post[..., 1:] *= (1.0 - claimed)[..., None]
        new = self.objects.add(given)
        if new:
            post = np.concatenate([post, np.zeros((h, w, len(new)), np.float32)], axis=2)
        idx = quantize_lab(lab, cfg.color_bins)
        for oid in given:
            m = cv2.resize((mask == oid).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
            post[..., self.objects.channel(oid)] = m
            area = max(1.0, float(m.sum()))
            self._pos.setdefault(oid, (0.0, 0.0))
            self._state[oid] = _Object(colour_llr(idx, m > 0.5, cfg.color_bins), area, area)
        post[..., 0] = np.clip(1.0 - channel_sum(post[..., 1:]), 0.0, 1.0)
        return np.ascontiguousarray(post, dtype=np.float32)

    def _places(self, prob: np.ndarray) -> dict[int, tuple[float, float]]:
        """Where the camera and every object are: accumulated displacements or centroids."""
        places = dict(self._pos)
        if self.config.centroid_places:
            places.update(centroids(prob, self.objects))
        return places

    def _remember(self, lab: np.ndarray) -> None:
        """Store the current frame in the recent memory every few frames when it is confident."""
        cfg = self.config
        self._since_memory += 1
        if cfg.memory_recent <= 0 or self._since_memory < cfg.memory_every:
            return
        assert self._prob is not None and self._grid is not None
        if any(o.lost for o in self._state.values()):
            return
        p = self._prob
        best = channel_max(p)
        owner = np.argmax(p, axis=2)
        for k in range(1, p.shape[2]):
            sel = owner == k
            if not sel.any() or float(best[sel].mean()) < cfg.memory_confidence:
                return
        self._memory.add_recent(make_frame(self._grid, lab, p, self.objects.ids, cfg.memory_stride, self._places(p),
                                           self._camera))
        self._since_memory = 0

    # -- outputs ----------------------------------------------------------------------------
    def _labels(self, q_full: np.ndarray) -> np.ndarray:
        """Argmax of background (1 - the clipped object sum) and the clipped objects."""
        ids = np.array([0, *self.objects.ids], dtype=np.uint8)
        obj = np.clip(q_full, 0.0, 1.0)
        if len(self.objects) == 1:
            return np.where(obj[..., 0] > 0.5, ids[1], 0).astype(np.uint8)
        bg = np.clip(1.0 - channel_sum(obj), 0.0, 1.0)[..., None]
        return ids[np.argmax(np.concatenate([bg, obj], axis=2), axis=2)]

    def _sharpen(self, q_small: np.ndarray) -> np.ndarray:
        return with_background(q_small, self.config.sharpen)


def _camera_step(flow: np.ndarray, background: np.ndarray, model: str, step: int = 6) -> np.ndarray:
    """The camera's motion from this frame to the previous one (3x3), fitted with RANSAC to the
    backward flow over background pixels: the flow's own median translation if the fit fails."""
    bg = background[::step, ::step]
    ys, xs = np.nonzero(bg)
    f = flow[::step, ::step][bg]
    src = np.stack([xs, ys], axis=1).astype(np.float32) * step
    dst = src + f
    m = np.eye(3)
    if len(src) >= 12:
        if model == "homography":
            fit, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
        else:
            a, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0)
            fit = None if a is None else np.vstack([a, [0.0, 0.0, 1.0]])
        if fit is not None and np.isfinite(fit).all() and abs(fit[2, 2]) > 1e-6:
            fit = fit / fit[2, 2]
            if 0.5 <= abs(float(np.linalg.det(fit[:2, :2]))) <= 2.0:  # a camera step, not a failed fit
                return np.asarray(fit, np.float64)
    if len(f):
        m[0, 2], m[1, 2] = float(np.median(f[:, 0])), float(np.median(f[:, 1]))
    return m


def _map_point(m: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """The point ``(x, y)`` mapped by the 3x3 homography ``m``."""
    v = m @ np.array([x, y, 1.0])
    return float(v[0] / v[2]), float(v[1] / v[2])


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - channel_max(logits)[..., None]
    p = np.exp(logits)
    p /= channel_sum(p)[..., None]
    return p


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    out = cv2.resize(x, size, interpolation=cv2.INTER_LINEAR)
    return out if out.ndim == x.ndim else out[..., None]


def largest_component(fg: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a boolean mask (the mask itself if it has none)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if n <= 1:
        return fg
    return lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
