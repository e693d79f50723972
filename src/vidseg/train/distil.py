"""``vidseg distil``: a microcontroller-sized student learns from a teacher's soft labels.

The teacher is anything ``vidseg segment`` runs (a ``vidseg train`` result's ``model.onnx``, the
built-in ``person`` model, any ONNX / TFLite file with a card); it runs on ONNX Runtime or LiteRT,
no torch. It labels every frame it is given, annotated or not, with its foreground probability
(or per-class probabilities); the student (:mod:`vidseg.train.student`) learns from those soft
labels, mixed with the ground truth where a frame has a mask (``gt_weight``). Validation holds
out whole videos or the last block of each video; its IoU is against the ground truth where the
held-out frames have masks, else against the teacher's thresholded labels (agreement).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from torch import nn

from vidseg.errors import InputError
from vidseg.io.atomic import atomic_path, write_bytes_atomic
from vidseg.train.dataset import held_out_videos, read_frames
from vidseg.train.loop import FitConfig, check_run, fit, mean_iou, predict_labels
from vidseg.train.nets import NetSpec
from vidseg.train.trainer import export_run, make_sampler, one_hot, shrink_target

TEACHER_LABELS = "teacher_labels.npy"


@dataclass
class DistilConfig:
    """A ``vidseg distil`` run."""

    teacher: str
    data: list[str]
    arch: str = "tiny"
    gray: bool = True
    out_res: str = "full"
    size: tuple[int, int] = (320, 240)
    gt_weight: float = 0.5
    val_fraction: float = 0.2
    every: int = 1
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=30, batch=16, steps_per_epoch=50, lr=1e-2))


def teacher_probabilities(teacher: str, images: np.ndarray, out_size: tuple[int, int], threads: int = 2,
                          tick: Callable[[], None] | None = None) -> tuple[np.ndarray, list[str]]:
    """The teacher's foreground probability of every frame at ``out_size`` as uint8 (0..255)
    ``(N, h, w)``, and its class names."""
    from vidseg.models import load_model
    from vidseg.segment.semantic import class_maps, crop_padding, foreground_probability

    model = load_model(teacher, threads=threads)
    if model.card.task != "semantic":
        raise InputError(f"teacher {teacher!r} is an instance model; distil needs a semantic one")
    out = np.empty((len(images), out_size[1], out_size[0]), np.uint8)
    for i, img in enumerate(images):
        outs, lb = model.run(img)
        maps = crop_padding(class_maps(outs[0], model.card), lb, model.card)
        fg = foreground_probability(maps, model.card)
        out[i] = np.clip(cv2.resize(fg, out_size, interpolation=cv2.INTER_LINEAR) * 255 + 0.5, 0, 255)
        if tick is not None:
            tick()
    return out, list(model.card.labels[1:])


def _held_out(videos: list[str], fraction: float) -> np.ndarray:
    """Validation rows: whole videos when there are three or more, else each video's last block."""
    names = list(dict.fromkeys(videos))
    rows = np.zeros(len(videos), bool)
    if fraction <= 0:
        return rows
    if len(names) >= 3:
        held = held_out_videos(names, fraction)
        return np.array([v in held for v in videos])
    for v in names:
        idx = [i for i, x in enumerate(videos) if x == v]
        n = int(round(len(idx) * fraction))
        if n and len(idx) > 1:
            rows[idx[-n:]] = True
    return rows


def _labels_key(cfg: DistilConfig, n: int) -> str:
    text = json.dumps([cfg.teacher, cfg.data, list(cfg.size), cfg.out_res, cfg.every, n])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def distil(cfg: DistilConfig, run: Path, *, resume: bool = False,
           progress: Callable[[str, int, int], None] | None = None) -> Iterator[dict]:
    """Label, train the student, export ``run/model.onnx`` + card; yields the loop's records."""
    check_run(run, resume)
    run.mkdir(parents=True, exist_ok=True)
    counter = [0]

    def ticker(stage: str, total: int) -> Callable[[], None]:
        counter[0] = 0

        def tick() -> None:
            counter[0] += 1
            if progress is not None:
                progress(stage, counter[0], total)
        return tick

    frames = read_frames(cfg.data, cfg.size, cfg.every, ticker("reading frames", 0))
    n = len(frames.images)
    spec_out = NetSpec("student", cfg.arch, ["object"], cfg.size, cfg.gray, cfg.out_res).output_size
    cache, key_file = run / TEACHER_LABELS, run / "teacher_labels.key"
    key = _labels_key(cfg, n)
    soft = None
    if resume and cache.is_file() and key_file.is_file() and key_file.read_text() == key:
        try:  # labels of the interrupted run (a damaged file is simply made again)
            soft = np.load(cache)
            classes = json.loads((run / "teacher_labels.json").read_text())["classes"]
        except (OSError, ValueError, KeyError):
            soft = None
    if soft is None or soft.shape != (n, spec_out[1], spec_out[0]):
        soft, classes = teacher_probabilities(cfg.teacher, frames.images, spec_out, cfg.fit.threads,
                                              ticker("teacher labelling", n))
        with atomic_path(cache, force=True) as tmp, open(tmp, "wb") as f:
            np.save(f, soft)
        write_bytes_atomic(run / "teacher_labels.json", json.dumps({"classes": classes}).encode())
        write_bytes_atomic(key_file, key.encode())
    name = classes[0] if len(classes) == 1 else "foreground"
    spec = NetSpec("student", cfg.arch, [name], cfg.size, cfg.gray, cfg.out_res)
    val = _held_out(frames.videos, cfg.val_fraction)
    train_rows = np.flatnonzero(~val) if (~val).any() else np.arange(n)
    val_rows = np.flatnonzero(val) if val.any() else np.arange(n)
    ones = np.ones((cfg.size[1], cfg.size[0]), np.float32)

    def target(i: int) -> tuple[np.ndarray, np.ndarray]:
        row = train_rows[i]
        t = cv2.resize(soft[row], cfg.size, interpolation=cv2.INTER_LINEAR).astype(np.float32)[None] / 255.0
        g = frames.gt[row]
        if g is not None:
            t = (1 - cfg.gt_weight) * t + cfg.gt_weight * one_hot(g, 1)
        return t, ones

    sampler = make_sampler(frames.images[train_rows], target, spec)
    has_gt = [i for i in val_rows if frames.gt[i] is not None]
    teacher_hard = (soft[val_rows] >= 128).astype(np.uint8)

    def validate(net: nn.Module) -> dict[str, float]:
        pred = predict_labels(net, frames.images[val_rows], spec.gray)
        scores = {"teacher_iou": mean_iou(pred, teacher_hard, 1)}
        if has_gt:
            sel = [k for k, i in enumerate(val_rows) if frames.gt[i] is not None]
            gt = np.stack([shrink_target(one_hot(frames.gt[val_rows[k]], 1), spec.output_size)[0] > 0.5  # type: ignore[arg-type]
                           for k in sel]).astype(np.uint8)
            scores["gt_iou"] = mean_iou(pred[sel], gt, 1)
        scores["val_iou"] = scores.get("gt_iou", scores["teacher_iou"])
        return scores

    extra = {"teacher": cfg.teacher, "data": list(cfg.data), "frames": n, "train_frames": int(len(train_rows)),
             "val_frames": int(len(val_rows)), "frames_with_gt": sum(g is not None for g in frames.gt),
             "val_against": "ground truth" if has_gt else "teacher labels", "gt_weight": cfg.gt_weight}
    yield from fit(spec, sampler, validate, run, cfg.fit, resume=resume, extra=extra)
    export_run(run, "vidseg-student", {**extra, "recipe": asdict(cfg.fit)})
