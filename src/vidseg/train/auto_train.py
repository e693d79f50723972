"""Training the primary-object head (torch, CPU) on cached backbone features.

Targets: a DAVIS-2016 frame's mask is exactly "the primary object"; a COCO image's main object
is its largest instance. The feature banks are the ones ``vidseg train-engine`` builds (same
cache names, so one cache serves both trainings): :func:`vidseg.train.engine_train.build_banks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vidseg.eval.metrics import jaccard
from vidseg.train.auto_net import SaliencyHead
from vidseg.train.engine_data import FeatureBank
from vidseg.train.engine_train import segmentation_loss, tensor
from vidseg.train.head_train import HeadTrainConfig, train_head

#: the primary-object head's training settings (the shared head config's defaults)
AutoTrainConfig = HeadTrainConfig


def main_object_targets(bank: FeatureBank) -> tuple[np.ndarray, np.ndarray]:
    """Rows to train on and their main object's id: every frame of a video clip (its objects,
    DAVIS-2016 has one), the first frame of each COCO pseudo-clip (its largest instance)."""
    rows, ids = [], []
    for name, a, b in bank.ranges:
        if name.startswith("coco-"):
            values, counts = np.unique(bank.labels[a], return_counts=True)
            counts[values == 0] = 0
            if counts.max() > 0:
                rows.append(a)
                ids.append(int(values[counts.argmax()]))
        else:
            rows += list(range(a, b))
            ids += [-1] * (b - a)  # -1: every labelled pixel
    return np.array(rows), np.array(ids)


class MainObjectSampler:
    """Batches of (features, target) with a fixed share of COCO frames."""

    def __init__(self, bank: FeatureBank, rng: np.random.Generator, coco_fraction: float) -> None:
        self.bank, self.rng = bank, rng
        self.rows, self.ids = main_object_targets(bank)
        coco_rows = {a for n, a, _ in bank.ranges if n.startswith("coco-")}
        is_coco = np.array([r in coco_rows for r in self.rows])
        self.pools = [np.flatnonzero(~is_coco), np.flatnonzero(is_coco)]
        self.coco_fraction = coco_fraction if len(self.pools[1]) and len(self.pools[0]) else float(
            len(self.pools[1]) > 0)

    def batch(self, size: int) -> dict[str, np.ndarray]:
        picks = []
        for _ in range(size):
            pool = self.pools[int(self.rng.random() < self.coco_fraction)]
            picks.append(int(pool[self.rng.integers(len(pool))]))
        rows = self.rows[picks]
        lab = np.asarray(self.bank.labels[rows])
        ids = self.ids[picks][:, None, None]
        target = np.where(ids < 0, lab > 0, lab == ids).astype(np.float32)[:, None]
        out = {n: np.asarray(getattr(self.bank, n)[rows], np.float32) for n in ("f4", "f8", "f16")}
        out["target"] = target
        return out


@torch.no_grad()
def frame_iou(net: nn.Module, bank: FeatureBank, chunk: int = 16) -> dict[str, float]:
    """Per sequence: the mean IoU of the head's mask (probability > 0.5) with the ground truth
    over the frames DAVIS scores (all but the first and the last)."""
    import torch.nn.functional as F  # noqa: N812

    out = {}
    size = bank.labels.shape[1:]
    for name, a, b in bank.ranges:
        scores = []
        for s in range(a, b, chunk):
            e = min(b, s + chunk)
            logits = net(*(tensor(getattr(bank, n)[s:e]) for n in ("f4", "f8", "f16")))
            pred = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[:, 0] > 0
            for k in range(e - s):
                if a < s + k < b - 1:
                    scores.append(jaccard(bank.labels[s + k] > 0, pred[k].numpy()))
        out[name] = float(np.mean(scores)) if scores else 1.0
    return out


def train_auto(cfg: HeadTrainConfig, run: Path, cache: Path | None = None,
               progress: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Train the head (:func:`vidseg.train.head_train.train_head`): ``run/head.pt`` the weights."""
    sampler: MainObjectSampler | None = None

    def batch_loss(net: nn.Module, bank: FeatureBank, rng: np.random.Generator) -> torch.Tensor:
        nonlocal sampler
        if sampler is None:
            sampler = MainObjectSampler(bank, rng, cfg.coco_fraction)
        batch = sampler.batch(cfg.batch)
        logits = net(*(tensor(batch[n]) for n in ("f4", "f8", "f16")))
        return segmentation_loss(logits, tensor(batch["target"]), 1.0)

    yield from train_head(cfg, run, SaliencyHead, batch_loss, frame_iou, "head.pt", cache, progress)
