"""``vidseg train``: a teacher network from an annotated training set.

Reads the training set (:mod:`vidseg.train.dataset`), splits it by video or by blocks of time,
trains the teacher (:mod:`vidseg.train.teacher`) with augmentation in the shared epoch loop
(:mod:`vidseg.train.loop`), and exports the best epoch's weights as ``RUN/model.onnx`` with its
card ``RUN/model.json`` (``vidseg segment --model RUN/model.onnx`` runs it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from torch import nn

from vidseg.train.augment import augment
from vidseg.train.card import model_card, write_card
from vidseg.train.dataset import (
    check_items,
    class_lookup,
    find_items,
    load_pairs,
    require_positive,
    split_items,
)
from vidseg.train.loop import (
    BEST,
    CURVE,
    LOG,
    FitConfig,
    Sampler,
    check_run,
    fit,
    load_net,
    mean_iou,
    predict_labels,
    to_input,
)
from vidseg.train.nets import NetSpec, build_net
from vidseg.train.onnx_export import write_onnx

MODEL = "model.onnx"


@dataclass
class TrainConfig:
    """A ``vidseg train`` run: data, network and recipe."""

    data: str
    masks: str | None = None
    classes: list[str] = field(default_factory=lambda: ["object"])
    size: tuple[int, int] = (320, 240)
    gray: bool = False
    arch: str = "unet"
    val_fraction: float = 0.2
    finetune: bool = False
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=15, batch=8, steps_per_epoch=40, lr=1e-3))


def one_hot(labels: np.ndarray, channels: int) -> np.ndarray:
    """``(channels, H, W)`` float32 targets of an ``(H, W)`` label map (one channel: foreground)."""
    if channels == 1:
        return (labels > 0).astype(np.float32)[None]
    return np.stack([(labels == k) for k in range(channels)]).astype(np.float32)


def shrink_target(target: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(C, H, W)`` soft targets at ``size`` = ``(w, h)`` (area average)."""
    if target.shape[-1] == size[0] and target.shape[-2] == size[1]:
        return target
    return np.stack([cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in target])


def make_sampler(images: np.ndarray, targets: Callable[[int], tuple[np.ndarray, np.ndarray]],
                 spec: NetSpec) -> Sampler:
    """Random augmented batches of ``images`` (uint8 RGB) with ``targets(i)`` = ``(soft target
    (C, H, W), weight (H, W))``, as the loop wants them."""
    def sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xs, ts, ws = [], [], []
        for i in rng.integers(0, len(images), size=n):
            target, weight = targets(int(i))
            img, tw = augment(images[i], np.concatenate([target, weight[None]]), rng)
            tw = shrink_target(tw, spec.output_size)
            xs.append(img)
            ts.append(tw[:-1])
            ws.append(tw[-1:])
        return to_input(np.stack(xs), spec.gray), np.stack(ts), np.stack(ws)

    return sample


def train_teacher(cfg: TrainConfig, run: Path, *, resume: bool = False,
                  progress: Callable[[str, int, int], None] | None = None) -> Iterator[dict]:
    """Train and export; yields the loop's records (see :func:`vidseg.train.loop.fit`). Raises
    :class:`InputError` naming the file on an empty or inconsistent training set."""
    check_run(run, resume)
    items = find_items(cfg.data, cfg.masks)
    train_items, val_items = split_items(items, cfg.val_fraction)
    check_items(train_items)
    check_items(val_items or train_items, "validation set")
    lut = class_lookup(cfg.classes)
    spec = NetSpec("teacher", cfg.arch, list(cfg.classes), cfg.size, cfg.gray, "full")
    done = [0]
    total = len(train_items) + len(val_items)

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress("reading frames", done[0], total)

    images, labels = load_pairs(train_items, cfg.size, lut, tick)
    require_positive(labels, cfg.data)
    val_images, val_labels = load_pairs(val_items, cfg.size, lut, tick) if val_items else (images, labels)
    ones = np.ones(labels.shape[1:], np.float32)
    sampler = make_sampler(images, lambda i: (one_hot(labels[i], spec.channels_out), ones), spec)

    def validate(net: nn.Module) -> dict[str, float]:
        pred = predict_labels(net, val_images, spec.gray)
        return {"val_iou": mean_iou(pred, val_labels, len(spec.classes))}

    extra = {"data": str(cfg.data), "train_frames": len(train_items), "val_frames": len(val_items),
             "val_videos": sorted({it.video for it in val_items}),
             "split": "by video" if val_items and {it.video for it in val_items}.isdisjoint(
                 {it.video for it in train_items}) else "by blocks of time"}
    extra["finetune_backbone"] = cfg.finetune
    yield from fit(spec, sampler, validate, run, cfg.fit, resume=resume, extra=extra,
                   net=build_net(spec, finetune=cfg.finetune))
    export_run(run, "vidseg-teacher", {**extra, "recipe": asdict(cfg.fit)})


def export_run(run: Path, name: str, extra: dict) -> Path:
    """Export ``run/best.pt`` as ``run/model.onnx`` + ``run/model.json`` and draw the curve."""
    from vidseg.train.engine_curve import plot_curve

    net, spec = load_net(run / BEST)
    path = write_onnx(net, spec, run / MODEL)
    write_card(path, model_card(name, spec.to_dict(), MODEL, **extra))
    with contextlib.suppress(ImportError):  # matplotlib is in the torch extra; else no PNG
        plot_curve(run / LOG, run / CURVE, x="epoch", series=[("val_iou", "tab:blue", "validation IoU")])
    return path

