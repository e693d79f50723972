"""Training the click head (torch, CPU) on the engine's cached backbone features.

Each batch is a set of clicks (see :mod:`vidseg.train.click_data`); a share of batches are second
clicks on the head's own result (as RITM trains): the head's mask after a first click, then the
click a user would make on its largest error. Scores: per sequence, the mean IoU after 1, 2 and
3 clicks of a simulated user on every 10th frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from vidseg.eval.metrics import jaccard
from vidseg.eval.simulated_user import correction_click, interior_point
from vidseg.train.click_data import ClickSampler, assemble
from vidseg.train.click_net import ClickHead
from vidseg.train.engine_data import FeatureBank
from vidseg.train.engine_train import segmentation_loss, tensor
from vidseg.train.head_train import HeadTrainConfig, train_head
from vidseg.vos.click_head import Click

SELF_SHARE = 0.3  # batches whose click corrects the head's own first-click mask
Example = tuple[int, np.ndarray, np.ndarray | None, list[Click]]


def _probabilities(net: nn.Module, batch: dict[str, np.ndarray]) -> np.ndarray:
    """(B, H, W) probabilities at the label size."""
    logits = net(*(tensor(batch[n]) for n in ("f4", "f8", "f16", "maps4")))
    size = batch["target"].shape[-2:]
    return torch.sigmoid(F.interpolate(logits, size=size, mode="bilinear", align_corners=False))[:, 0].numpy()


def next_clicks(examples: list[Example], probs: np.ndarray, rng: np.random.Generator | None) -> list[Example]:
    """Each example's next step from the head's probabilities ``probs`` on it: those as the mask
    before, plus the click on their largest error (the example unchanged where there is none)."""
    out = []
    for (row, gt, prev, clicks), p in zip(examples, probs, strict=True):
        click = correction_click(gt, p > 0.5, rng)
        out.append((row, gt, p, [*clicks, click]) if click is not None else (row, gt, prev, clicks))
    return out


def click_ious(net: nn.Module, bank: FeatureBank, clicks: int = 3, every: int = 10) -> dict[str, list[float]]:
    """Per sequence: the mean IoU after 1..``clicks`` clicks of a deterministic simulated user (the
    object's interior, then each time the interior of the largest error) on every ``every``-th
    frame, each object of the frame in turn."""
    out: dict[str, list[float]] = {}
    for name, a, b in bank.ranges:
        examples: list[Example] = []
        for row in range(a, b, every):
            lab = bank.labels[row]
            for obj in (int(v) for v in np.unique(lab) if v):
                gt = lab == obj
                x, y = interior_point(gt)
                examples.append((row, gt, None, [(float(x), float(y), True)]))
        if not examples:
            continue
        scores = []
        for k in range(clicks):
            with torch.no_grad():
                probs = _probabilities(net, assemble(bank, examples))
            scores.append(float(np.mean([jaccard(e[1], p > 0.5) for e, p in zip(examples, probs, strict=True)])))
            if k + 1 < clicks:
                examples = next_clicks(examples, probs, None)
        out[name] = scores
    return out


@torch.no_grad()
def mean_click_iou(net: nn.Module, bank: FeatureBank) -> dict[str, float]:
    """Per sequence: the mean IoU over the first 3 clicks (:func:`click_ious`)."""
    return {name: float(np.mean(v)) for name, v in click_ious(net, bank).items()}


def train_clicks(cfg: HeadTrainConfig, run: Path, cache: Path | None = None,
                 progress: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Train the click head (:func:`vidseg.train.head_train.train_head`): ``run/click.pt`` the weights."""
    sampler: ClickSampler | None = None

    def batch_loss(net: nn.Module, bank: FeatureBank, rng: np.random.Generator) -> torch.Tensor:
        nonlocal sampler
        if sampler is None:
            sampler = ClickSampler(bank, rng, cfg.coco_fraction)
        if rng.random() < SELF_SHARE:
            firsts = [sampler.first() for _ in range(cfg.batch)]
            net.eval()
            with torch.no_grad():
                probs = _probabilities(net, assemble(bank, firsts))
            net.train()
            examples = next_clicks(firsts, probs, rng)
        else:
            examples = [sampler.example() for _ in range(cfg.batch)]
        batch = assemble(bank, examples)
        logits = net(*(tensor(batch[n]) for n in ("f4", "f8", "f16", "maps4")))
        return segmentation_loss(logits, tensor(batch["target"]), 1.0)

    yield from train_head(cfg, run, ClickHead, batch_loss, mean_click_iou, "click.pt", cache, progress)
