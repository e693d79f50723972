"""One frame in, its segmentation out: the model plus post-processing, smoothing and identities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.models.model import Letterbox, Model
from vidseg.segment.identity import IdentityTracker, instances_to_labels
from vidseg.segment.instance import Instances, decode_yolo_seg
from vidseg.segment.people.tracker import Observed, PeopleOptions, PeopleSegmenter
from vidseg.segment.semantic import (
    class_indices,
    class_maps,
    crop_padding,
    labels_from_maps,
    to_probabilities,
)
from vidseg.segment.smoothing import TemporalSmoother


@dataclass(frozen=True)
class SegmentOptions:
    """Post-processing choices (see ``vidseg segment --help``)."""

    classes: tuple[str, ...] = ()
    upsample: str = "nearest"
    smooth: bool | None = None  # None: the model's default (on for person-full, off otherwise)
    smooth_alpha: float = 0.4
    conf: float = 0.25
    iou: float = 0.45
    threshold: float | None = None
    max_det: int = 100
    want_probability: bool = False  # compute a frame-size foreground probability (soft / effects)
    runs_per_frame: int = 1  # person-full: landmark-model runs per frame (0: every person, every frame)


@dataclass
class SegResult:
    """The segmentation of one frame.

    ``labels``: HxW uint8 (semantic: class index; instance: track id). ``probability``: HxW float32
    foreground probability when asked for. ``instances``/``ids``: instance models only.
    """

    labels: np.ndarray
    probability: np.ndarray | None = None
    instances: Instances | None = None
    ids: np.ndarray | None = None


class Segmenter:
    """Runs a :class:`Model` on frames; keeps the temporal state (smoother, identity tracker)."""

    def __init__(self, model: Model, options: SegmentOptions | None = None) -> None:
        self.model = model
        self.options = options or SegmentOptions()
        self.keep = class_indices(model.card, list(self.options.classes))
        self.people: PeopleSegmenter | None = None
        if model.card.output == "blazepose":
            if "detector" not in model.parts:
                raise InputError("the BlazePose pipeline needs its person detector (a companion model)",
                                 model.card.file or model.card.name)
            smooth = self.options.smooth is not False
            self.people = PeopleSegmenter(model.backend, model.parts["detector"],
                                          PeopleOptions(smooth=smooth, smooth_alpha=self.options.smooth_alpha,
                                                        threshold=self._threshold(0.5),
                                                        runs_per_frame=self.options.runs_per_frame),
                                          proposer_backend=model.parts.get("proposer"))
        self.smoother = TemporalSmoother(alpha=self.options.smooth_alpha) \
            if self.options.smooth and self.people is None else None
        self.tracker = IdentityTracker() if model.card.task == "instance" and self.people is None else None

    @property
    def task(self) -> str:
        return self.model.card.task

    def _threshold(self, default: float) -> float:
        return default if self.options.threshold is None else self.options.threshold

    def reset(self) -> None:
        if self.people is not None:
            self.people.reset()
        if self.smoother is not None:
            self.smoother.reset()
        if self.tracker is not None:
            self.tracker.reset()

    def __call__(self, image: np.ndarray) -> SegResult:
        if self.people is not None:
            return self._people(image)
        outs, lb = self.model.run(image)
        if self.task == "instance":
            return self._instance(image, outs, lb)
        return self._semantic(image, outs[0], lb)

    def _semantic(self, image: np.ndarray, out: np.ndarray, lb: Letterbox) -> SegResult:
        card, o = self.model.card, self.options
        fh, fw = image.shape[:2]
        maps = crop_padding(class_maps(out, card), lb, card)
        is_prob = card.output == "probabilities"
        if self.smoother is not None or maps.shape[0] == 1 or o.want_probability:
            maps = to_probabilities(maps, card)
            is_prob = True
        if self.smoother is not None:
            maps = self.smoother.step(image, maps)
        labels = labels_from_maps(maps, (fw, fh), card=card, upsample=o.upsample, keep=self.keep,
                                  threshold=o.threshold, probabilities=is_prob)
        prob = None
        if o.want_probability:
            small = _foreground(maps, self.keep)
            prob = cv2.resize(small, (fw, fh), interpolation=cv2.INTER_LINEAR)
        return SegResult(labels, prob)

    def _instance(self, image: np.ndarray, outs: Sequence[np.ndarray], lb: Letterbox) -> SegResult:
        o = self.options
        inst = decode_yolo_seg(outs, self.model.card, lb, conf=o.conf, iou=o.iou, keep=self.keep,
                               max_det=o.max_det)
        assert self.tracker is not None
        ids = self.tracker.update(inst, image)
        labels = instances_to_labels(inst, ids)
        prob = (labels > 0).astype(np.float32) if o.want_probability else None
        return SegResult(labels, prob, inst, ids)

    def stages(self) -> tuple[Callable[[np.ndarray], Any], Callable[[Any], SegResult]]:
        """A frame's work in two parts, ``second(first(image))`` being ``self(image)``: frames go
        through ``first`` in order and through ``second`` in the same order, and ``second`` of one
        frame may run (in another thread) while ``first`` runs on the next. The people pipeline
        puts its models in ``first`` and combining, smoothing and upsampling in ``second``; other
        models do everything in ``first``."""
        if self.people is None:
            return self.__call__, _same
        return self.people.observe, self._people_result

    def _people(self, image: np.ndarray) -> SegResult:
        assert self.people is not None
        return self._people_result(self.people.observe(image))

    def _people_result(self, seen: Observed) -> SegResult:
        assert self.people is not None
        inst, prob, ids_seen = self.people.render(seen)  # the people pipeline follows each person: it gives the ids
        ids = (np.asarray(ids_seen, np.int64) - 1) % 255 + 1
        labels = instances_to_labels(inst, ids)
        return SegResult(labels, prob if self.options.want_probability else None, inst, ids)


def _same(result: SegResult) -> SegResult:
    return result


def _foreground(probs: np.ndarray, keep: Sequence[int] | None) -> np.ndarray:
    if probs.shape[0] == 1:
        return probs[0] if keep is None or 1 in keep else np.zeros_like(probs[0])
    if keep is None:
        return np.clip(1.0 - probs[0], 0.0, 1.0).astype(np.float32)
    return np.clip(probs[list(keep)].sum(axis=0), 0.0, 1.0).astype(np.float32)
