"""The learned tracking engine: memory matching on frozen EfficientNet-Lite0 features with a small
trained value encoder and mask decoder (STM / STCN / XMem family), run with ONNX Runtime.

Per frame: backbone features at strides 4/8/16 of the frame resized to the working resolution;
a key per stride-16 position; each object's read-out from the bounded :class:`FeatureMemory`;
the decoder turns read-out, skip features and the object's previous mask into logits at
stride 4; the refiner (where the weights have one) sharpens them to the working resolution with
the frame; objects are merged by soft aggregation (every pixel gets one label) and upsampled to
the full resolution. Masks given on a frame are kept exactly there and enter the memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.models.backbone import Backbone, BackboneFeatures
from vidseg.vos._ops import block_mean, plane_argmax
from vidseg.vos.learned.config import LearnedConfig, get_learned_preset
from vidseg.vos.learned.memory import FeatureMemory, MemoryEntry
from vidseg.vos.learned.target import TargetModel, drop_unlike, position_features
from vidseg.vos.learned.weights import EngineGraphs
from vidseg.vos.refine import GuidedUpsampler
from vidseg.vos.stepping import SteppingTracker

if TYPE_CHECKING:
    from vidseg.vos.classical import ClassicalTracker


#: the refiner runs on a crop around an object's predicted cells (stride-4 logits above 0) with this
#: margin of cells: its changes stay within ``refine_band`` pixels (under 2 cells) of the
#: predicted edge and it sees about 4 cells around each pixel, so a wider crop gives the same
#: labels (identical J&F on davis2016-dev and the left-out sequences) for more work
REFINE_MARGIN = 6
#: the decoder runs on a crop of the frame around where the objects may be (each one's previous
#: mask grown by the locality reach), with this margin of stride-16 cells: its receptive field
#: is about 5 cells, so inside the reach it gives what it gives on the whole frame; an object
#: that comes out lost in the crop is looked for on the whole frame (it may have jumped)
DECODE_MARGIN = 6
OUTSIDE = -20.0  # logits of the cells outside the decoded crop


def work_size(full: tuple[int, int], short: int) -> tuple[int, int]:
    """``(h, w)`` with the short side near ``short``, the aspect ratio kept, both multiples of 16."""
    h, w = full
    scale = short / min(h, w)
    return (max(16, int(round(h * scale / 16)) * 16), max(16, int(round(w * scale / 16)) * 16))


def aggregate(p: np.ndarray) -> np.ndarray:
    """Soft aggregation (STM): K object probabilities (K, ...) -> (K+1, ...) with background
    first, summing to 1, each object's odds kept relative to the others'."""
    bg = np.prod(1.0 - p, axis=0, keepdims=True)
    q = np.clip(np.concatenate([bg, p], 0), 1e-6, 1 - 1e-6)
    logit = np.log(q / (1 - q))
    logit -= logit.max(0, keepdims=True)
    e = np.exp(logit)
    return (e / e.sum(0, keepdims=True)).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))).astype(np.float32)


def _resize(x: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Resize a (K, h, w) stack to (K, H, W) (the stack itself when it is that size)."""
    h, w = size
    if x.shape[1:] == (h, w):
        return x
    return np.stack([cv2.resize(c, (w, h), interpolation=interpolation) for c in x]) if len(x) else (
        np.zeros((0, h, w), np.float32))


def keep_near(logits: np.ndarray, prev: np.ndarray, reach: float, min_area: float = 4) -> np.ndarray:
    """Drop the parts of an object's prediction that are far from where it was on the previous
    frame (memory matching also finds look-alikes elsewhere: other people, other cars).

    ``logits`` and ``prev`` (probabilities) are at stride 4. A connected part of ``logits > 0`` is
    kept when it comes within ``reach`` x the object's size (the square root of its previous
    area, at least 3 cells) of the previous mask. An object that was lost (under ``min_area``
    cells: the tracker passes a quarter of its given area) may come back anywhere.
    """
    before = prev > 0.5
    area = int(before.sum())
    if area < min_area:
        return logits
    fg = (logits > 0).astype(np.uint8)
    n, comp = cv2.connectedComponents(fg, connectivity=8)
    if n <= 2:
        return logits
    dist = cv2.distanceTransform((~before).astype(np.uint8), cv2.DIST_L2, 3)
    radius = max(3.0, reach * float(np.sqrt(area)))
    near = np.bincount(comp[dist <= radius].ravel(), minlength=n) > 0
    near[0] = False
    far = (fg > 0) & ~near[comp]
    if not far.any():
        return logits
    keep = cv2.dilate(near[comp].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return np.where(far & ~keep, np.minimum(logits, -8.0), logits).astype(np.float32)


def refiner_image(rgb: np.ndarray) -> np.ndarray:
    """Uint8 RGB ``HxWx3`` (or ``NxHxWx3``) as the refiner takes it: ``(N, 3, H, W)`` float32
    ``(rgb - 127) / 128``, the backbone's scaling."""
    x = rgb[None] if rgb.ndim == 3 else rgb
    return np.ascontiguousarray((x.astype(np.float32) - 127.0) / 128.0).transpose(0, 3, 1, 2)


def edge_band(logits: np.ndarray, radius: int) -> np.ndarray:
    """Where a refiner may change ``logits``: within ``radius`` pixels of the edge of
    ``logits > 0`` (everywhere when ``radius`` is 0). The refiner learns with the same band."""
    if radius <= 0:
        return np.ones(logits.shape, bool)
    inside = (logits > 0).astype(np.uint8)
    square = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return (cv2.dilate(inside, square) > 0) & ~(cv2.erode(inside, square) > 0)


def _repeat(feats: BackboneFeatures, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame's features once per object (the graphs take a batch of objects)."""
    return tuple(np.repeat(a, n, 0) for a in (feats.f4, feats.f8, feats.f16))  # type: ignore[return-value]


class _LastFeatures:
    """A backbone that gives its last result again for the same image: trackers that share one
    step through the same frames pay for the backbone once."""

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone
        self._last: tuple[np.ndarray, BackboneFeatures] | None = None

    def __call__(self, image: np.ndarray) -> BackboneFeatures:
        if self._last is not None and self._last[0].shape == image.shape and np.array_equal(self._last[0], image):
            return self._last[1]
        feats = self.backbone(image)
        self._last = (image, feats)
        return feats


class LearnedTracker(SteppingTracker):
    """Follow objects with the learned engine; ``step(image, mask, objects)`` as every engine."""

    def __init__(self, config: LearnedConfig | str | None = None, *, _sharing: LearnedTracker | None = None
                 ) -> None:
        if config is None or isinstance(config, str):
            config = get_learned_preset(config or "default")
        super().__init__()
        self.config = config
        self._backbone: Backbone | _LastFeatures
        if _sharing is None:
            self._graphs = EngineGraphs.load(config.weights, config.threads)
            self._backbone = Backbone(threads=config.threads)
        else:  # a twin: the same sessions, and the backbone's last result reused
            if not isinstance(_sharing._backbone, _LastFeatures):
                _sharing._backbone = _LastFeatures(_sharing._backbone)
            self._graphs, self._backbone = _sharing._graphs, _sharing._backbone
        self._guided = GuidedUpsampler(config.guided_radius, config.guided_eps)
        self._classical: ClassicalTracker | None = None
        if config.classical:
            from vidseg.vos.classical import ClassicalTracker, get_classical_preset

            self._classical = ClassicalTracker(get_classical_preset(config.classical))
        self.reset()

    def reset(self) -> None:
        """Forget every object and frame (the loaded weights stay)."""
        super().reset()
        if getattr(self, "_classical", None) is not None:
            self._classical.reset()  # type: ignore[union-attr]
        c = self.config
        self._small_size: tuple[int, int] | None = None
        self._memory = FeatureMemory(c.memory_given, c.memory_work, c.long_term,
                                     c.long_term_per_frame, c.top_k)
        self._prev4: dict[int, np.ndarray] = {}
        self._given_area: dict[int, float] = {}  # stride-4 cells of each object where last given
        self._target = TargetModel() if c.target_gate > 0 else None
        self._last_probs: np.ndarray | None = None
        #: the last frame's backbone features at the working size (for heads that share them)
        self.last_features: BackboneFeatures | None = None
        #: the last frame's decoded stride-4 logits per predicted object (what the refiner learns from)
        self.last_logits4: dict[int, np.ndarray] = {}
        self._frame = -1
        self._since_work = 0

    def _start(self, size: tuple[int, int]) -> None:
        self._small_size = work_size(size, self.config.work_short)

    def twin(self) -> LearnedTracker:
        """A fresh tracker with this one's settings that shares its loaded graphs and, stepping
        through the same frames right after this one, its backbone features of each frame."""
        return LearnedTracker(self.config, _sharing=self)

    def step(self, image: np.ndarray, mask: np.ndarray | None = None,
             objects: Iterable[int] | None = None) -> np.ndarray:
        """Track one frame; ``mask`` gives (or corrects) the objects ``objects`` (default all in it).
        Returns the HxW uint8 label map."""
        image, mask, given = self._check_step(image, mask, objects)
        self._frame += 1
        assert self._small_size is not None and self._full_size is not None
        h, w = self._small_size
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        feats = self.last_features = self._backbone(small)
        key = self._graphs.key.run(None, {"f16": feats.f16})[0]
        query = key[0].reshape(key.shape[1], -1)
        h4, w4 = feats.f4.shape[2:]
        design = (self._target.design(position_features(feats.f16[0], feats.f8[0]))
                  if self._target is not None else None)

        predicted = [o for o in self.objects.ids if o not in given]
        logits4 = self.last_logits4 = self._decode(query, feats, predicted, design)
        for o in given:
            if o in self.objects:  # a correction: what memory predicted of this object is replaced
                self._memory.drop_predicted(o)
        self.objects.add(given)
        ids = self.objects.ids
        p4 = self._object_probs(ids, logits4, mask, given, (h4, w4))
        agg4 = aggregate(p4)[1:]
        sharp = self._refine(small, feats.f4, logits4)
        agg_work = aggregate(self._object_probs(ids, sharp, mask, given, (h, w)))
        agg_full = self._to_full(small, image, agg_work)
        if self._classical is not None:
            agg_full = self._fuse_classical(image, mask, given, ids, agg_full)
            agg4 = np.stack([cv2.resize(c, (w4, h4), interpolation=cv2.INTER_AREA) for c in agg_full[1:]])
        labels = np.array([0, *ids], np.uint8)[plane_argmax(agg_full)]
        if given:
            assert mask is not None
            keep = np.isin(mask, given)
            labels[keep] = mask[keep]
        self._last_probs = agg_full
        for o in given:
            self._given_area[o] = float((p4[ids.index(o)] > 0.5).sum())
            if self._target is not None and design is not None:
                self._target.add(o, design, block_mean(p4[ids.index(o)], 4).ravel())
        self._prev4 = {o: agg4[k] for k, o in enumerate(ids)}
        self._remember(query, feats, ids, agg4, list(given))
        return labels

    def _refine(self, small: np.ndarray, f4: np.ndarray, logits4: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Each object's logits at the working size through the refiner graph, run on a crop
        around the object's predicted cells (:data:`REFINE_MARGIN`) and kept within
        ``refine_band`` pixels of the predicted edge; the stride-4 logits as they are where the
        weights have no refiner or ``refine`` is off."""
        graph = self._graphs.refine
        if graph is None or not self.config.refine or not logits4:
            return logits4
        h4, w4 = f4.shape[2:]
        image = refiner_image(small)
        out = {}
        for o, logits in logits4.items():
            full = cv2.resize(logits, (w4 * 4, h4 * 4), interpolation=cv2.INTER_LINEAR)
            rows, cols = np.nonzero(logits > 0.0)
            if len(rows):
                m = REFINE_MARGIN
                y0, y1 = max(0, rows.min() - m), min(h4, rows.max() + m + 1)
                x0, x1 = max(0, cols.min() - m), min(w4, cols.max() + m + 1)
                crop = graph.run(None, {
                    "image": np.ascontiguousarray(image[:, :, 4 * y0:4 * y1, 4 * x0:4 * x1]),
                    "logits4": np.ascontiguousarray(logits[None, None, y0:y1, x0:x1], np.float32),
                    "f4": np.ascontiguousarray(f4[:, :, y0:y1, x0:x1])})[0]
                base = full[4 * y0:4 * y1, 4 * x0:4 * x1]
                full[4 * y0:4 * y1, 4 * x0:4 * x1] = np.where(edge_band(base, self.config.refine_band),
                                                              crop[0, 0], base)
            out[o] = full
        return out

    def _to_full(self, small: np.ndarray, image: np.ndarray, agg_work: np.ndarray) -> np.ndarray:
        """(K+1, H, W) probabilities at full resolution from the working ones: bilinear, or
        through a guided filter on the frame (edges snap to the image's) when ``guided_radius``."""
        assert self._full_size is not None
        if self.config.guided_radius <= 0:
            return _resize(agg_work, self._full_size)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        gray_full = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        _, full = self._guided(gray, np.ascontiguousarray(agg_work.transpose(1, 2, 0)), gray_full)
        assert full is not None
        full = np.clip(full, 0.0, 1.0)
        return np.ascontiguousarray((full / np.maximum(full.sum(2, keepdims=True), 1e-6)).transpose(2, 0, 1))

    def remove_objects(self, ids: Iterable[int]) -> None:
        """Stop tracking ``ids`` and forget them, the frames where they were given included (to
        give an object anew, where a correction would keep the masks given before)."""
        ids = list(ids)
        gone = self.objects.remove(ids)
        for o in ids:
            self._memory.forget(o)
            self._prev4.pop(o, None)
            self._given_area.pop(o, None)
            if self._target is not None:
                self._target.forget(o)
        if self._classical is not None:
            self._classical.remove_objects(ids)
        if self._last_probs is not None:
            rest = np.delete(self._last_probs, gone, axis=0)
            rest[0] = np.clip(1.0 - rest[1:].sum(0), 0.0, 1.0)
            self._last_probs = np.ascontiguousarray(rest)

    def probabilities(self) -> tuple[list[int], np.ndarray]:
        """The last step's ids and ``(K+1, H, W)`` float32 probabilities (index 0 = background)."""
        if self._last_probs is None:
            raise InputError("no frame has been tracked yet")
        return self.objects.ids, self._last_probs

    def _fuse_classical(self, image: np.ndarray, mask: np.ndarray | None, given: list[int],
                        ids: list[int], agg_full: np.ndarray) -> np.ndarray:
        """Product of experts with the classical engine stepped on the same frame: its motion-placed
        prior keeps look-alikes away, the learned one holds appearance; weight ``classical_weight``."""
        assert self._classical is not None
        self._classical.step(image, mask, given or None)
        c_ids, c_prob = self._classical.probabilities()
        order = [0, *(1 + c_ids.index(o) for o in ids)]
        wgt = self.config.classical_weight
        logp = (1 - wgt) * np.log(agg_full + 1e-4) + wgt * np.log(c_prob[order] + 1e-4)
        logp -= logp.max(0, keepdims=True)
        e = np.exp(logp)
        return (e / e.sum(0, keepdims=True)).astype(np.float32)

    def _object_probs(self, ids: list[int], logits4: dict[int, np.ndarray], mask: np.ndarray | None,
                      given: list[int], size: tuple[int, int]) -> np.ndarray:
        """(K, h, w) probabilities of each object at ``size``: decoded ones resized from their
        logits (at stride 4, or refined to the working size), given ones from the mask (which also clears the others under it)."""
        out = np.zeros((len(ids), *size), np.float32)
        decoded = [o for o in ids if o in logits4]
        if decoded:
            up = _sigmoid(_resize(np.stack([logits4[o] for o in decoded]), size))
            for o, p in zip(decoded, up, strict=True):
                out[ids.index(o)] = p
        if given:
            assert mask is not None
            h, w = size
            interp = cv2.INTER_AREA if size[0] < mask.shape[0] else cv2.INTER_LINEAR
            taken = cv2.resize(np.isin(mask, given).astype(np.float32), (w, h), interpolation=interp)
            for k, o in enumerate(ids):
                if o in given:
                    out[k] = cv2.resize((mask == o).astype(np.float32), (w, h), interpolation=interp)
                else:
                    out[k] *= 1.0 - taken
        return out

    def _decode(self, query: np.ndarray, feats: BackboneFeatures, objs: list[int],
                design: np.ndarray | None) -> dict[int, np.ndarray]:
        """Stride-4 logits of each tracked object from the memory read-out, with the parts far
        from the previous mask (``locality``) or unlike the object (``target_gate``) removed."""
        if not objs or not len(self._memory):
            return {}
        h16, w16 = feats.f16.shape[2:]
        whole = (0, h16, 0, w16)
        box = self._decode_box(objs, (h16, w16))
        decoded = self._decode_in(query, feats, objs, box)
        if decoded is None:
            return {}
        cells = (decoded[1].reshape(len(decoded[0]), -1) > 0).sum(1)
        if box != whole and any(n < self._lost_below(o) for o, n in zip(decoded[0], cells, strict=True)):
            decoded = self._decode_in(query, feats, objs, whole)  # lost in the crop: it may have jumped out
            assert decoded is not None
        objs, out = decoded
        reach = self.config.locality
        logits = {o: out[k, 0] if reach <= 0 else keep_near(out[k, 0], self._prev4[o], reach, self._lost_below(o))
                  for k, o in enumerate(objs)}
        if self._target is not None and design is not None:
            h4, w4 = feats.f4.shape[2:]
            for o in objs:
                if o in self._target:
                    score = self._target.score(o, design).reshape(h16, w16)
                    score4 = cv2.resize(score, (w4, h4), interpolation=cv2.INTER_LINEAR)
                    logits[o] = drop_unlike(logits[o], score4, self.config.target_gate)
        return logits

    def _decode_in(self, query: np.ndarray, feats: BackboneFeatures, objs: list[int],
                   box: tuple[int, int, int, int]) -> tuple[list[int], np.ndarray] | None:
        """The objects of ``objs`` that memory holds and their decoder's stride-4 logits
        ``(K, 1, H4, W4)``, run on the stride-16 cells ``box`` (:data:`OUTSIDE` elsewhere); None
        when memory holds none of them."""
        h16, w16 = feats.f16.shape[2:]
        y0, y1, x0, x1 = box
        hc, wc = y1 - y0, x1 - x0
        crop_query = query.reshape(-1, h16, w16)[:, y0:y1, x0:x1].reshape(query.shape[0], -1)
        reads = self._memory.read(np.ascontiguousarray(crop_query), objs)
        objs = [o for o in objs if o in reads]
        if not objs:
            return None
        f4, f8, f16 = _repeat(BackboneFeatures(
            f4=feats.f4[:, :, 4 * y0:4 * y1, 4 * x0:4 * x1], f8=feats.f8[:, :, 2 * y0:2 * y1, 2 * x0:2 * x1],
            f16=feats.f16[:, :, y0:y1, x0:x1]), len(objs))
        readout = np.stack([reads[o].reshape(-1, hc, wc) for o in objs]).astype(np.float32)
        prev = np.stack([self._prev4[o][4 * y0:4 * y1, 4 * x0:4 * x1] for o in objs])[:, None].astype(np.float32)
        crop = self._graphs.decoder.run(None, {"readout": readout, "f16": f16, "f8": f8, "f4": f4,
                                               "prev4": prev})[0]
        out = np.full((len(objs), 1, 4 * h16, 4 * w16), OUTSIDE, np.float32)
        out[:, :, 4 * y0:4 * y1, 4 * x0:4 * x1] = crop
        return objs, out

    def _lost_below(self, obj: int) -> float:
        """Stride-4 cells under which ``obj``'s previous mask counts as lost (it may come back anywhere)."""
        return max(4.0, 0.25 * self._given_area[obj])

    def _decode_box(self, objs: list[int], size16: tuple[int, int]) -> tuple[int, int, int, int]:
        """Stride-16 cells ``y0, y1, x0, x1`` the decoder needs: around each object's previous
        mask, its locality reach and :data:`DECODE_MARGIN`; the whole frame while locality is off
        or an object is lost."""
        h16, w16 = size16
        whole = (0, h16, 0, w16)
        reach = self.config.locality
        if reach <= 0:
            return whole
        box = [h16, 0, w16, 0]
        for o in objs:
            before = self._prev4[o] > 0.5
            area = int(before.sum())
            if area < self._lost_below(o):
                return whole
            rows, cols = np.nonzero(before)
            grow = max(3.0, reach * float(np.sqrt(area))) / 4 + DECODE_MARGIN
            box = [min(box[0], int(rows.min() / 4 - grow)), max(box[1], int(np.ceil((rows.max() + 1) / 4 + grow))),
                   min(box[2], int(cols.min() / 4 - grow)), max(box[3], int(np.ceil((cols.max() + 1) / 4 + grow)))]
        return max(0, box[0]), min(h16, box[1]), max(0, box[2]), min(w16, box[3])

    def _remember(self, query: np.ndarray, feats: BackboneFeatures, ids: list[int], agg4: np.ndarray,
                  given: list[int]) -> None:
        """Encode this frame's values and store it: as a frame with ``given`` objects, a
        working-memory frame every ``memory_every`` frames, or (with ``remember_last``) as the
        previous frame."""
        self._since_work += 1
        to_work = not given and self._since_work >= self.config.memory_every
        if not (given or to_work or self.config.remember_last):
            return
        f4, f8, f16 = _repeat(feats, len(ids))
        others = np.clip(agg4.sum(0, keepdims=True) - agg4, 0.0, 1.0)
        values = self._graphs.value.run(None, {"f4": f4, "f8": f8, "f16": f16,
                                               "mask4": agg4[:, None], "others4": others[:, None]})[0]
        entry = MemoryEntry(query.copy(), {o: values[k].reshape(values.shape[1], -1)
                                           for k, o in enumerate(ids)}, self._frame,
                            given_ids=frozenset(given))
        if given or to_work:
            (self._memory.add_given if given else self._memory.add_work)(entry)
            self._memory.set_last(None)
            self._since_work = 0
        else:
            self._memory.set_last(entry)
