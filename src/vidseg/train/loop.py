"""The epoch loop shared by ``vidseg train`` and ``vidseg distil``.

Each epoch draws its samples from generators seeded by ``(seed, epoch)`` alone, so an epoch run
again after a kill is the same epoch: ``--resume`` loads the last checkpoint (weights, optimiser,
history; written atomically at the end of every epoch) and continues exactly as an uninterrupted
run would. ``best.pt`` keeps the weights of the epoch with the best validation IoU; ``log.json``
(every epoch's record) and ``curve.png`` are rewritten after each epoch.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from vidseg.errors import InputError
from vidseg.io.atomic import write_bytes_atomic
from vidseg.train.checkpoint import load_checkpoint, save_checkpoint
from vidseg.train.dataset import to_input
from vidseg.train.nets import NetSpec, build_net

#: ``sampler(rng, n)`` -> (inputs (n, C, H, W) in 0..1, targets (n, K, h, w) soft, weights (n, 1, h, w))
Sampler = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
#: ``validate(net)`` -> {"val_iou": ..., ...}
Validator = Callable[[nn.Module], dict[str, float]]

CHECKPOINT, BEST, LOG, CURVE = "checkpoint.pt", "best.pt", "log.json", "curve.png"


@dataclass
class FitConfig:
    """The optimisation recipe."""

    epochs: int = 30
    batch: int = 8
    steps_per_epoch: int = 50
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted BCE (one channel) or soft cross-entropy (several) plus soft Dice of the
    foreground, against soft targets."""
    if logits.shape[1] == 1:
        ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        p = torch.sigmoid(logits)
    else:
        ce = -(target * F.log_softmax(logits, 1)).sum(1, keepdim=True)
        p = torch.softmax(logits, 1)[:, 1:]
        target = target[:, 1:]
    ce = (ce * weight).sum() / weight.sum().clamp_min(1.0)
    inter = (p * target * weight).flatten(1).sum(1)
    union = ((p + target) * weight).flatten(1).sum(1)
    dice = 1 - (2 * inter + 1) / (union + 1)
    return ce + dice.mean()


def mean_iou(pred: np.ndarray, gt: np.ndarray, n_classes: int) -> float:
    """Mean over frames (and foreground classes present) of the IoU of label maps ``(N, H, W)``;
    a frame where both are empty counts 1 (the project's jaccard convention)."""
    from vidseg.eval.metrics import jaccard

    scores = [jaccard(gt[i] == k, pred[i] == k) for i in range(len(gt))
              for k in range(1, max(2, n_classes + 1)) if n_classes <= 1 or (gt[i] == k).any() or (pred[i] == k).any()]
    return float(np.mean(scores)) if scores else 1.0


def predict_labels(net: nn.Module, images: np.ndarray, gray: bool, batch: int = 8) -> np.ndarray:
    """Label maps ``(N, h, w)`` of ``net`` for uint8 RGB frames ``(N, H, W, 3)``."""
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            logits = net(torch.from_numpy(to_input(images[i:i + batch], gray)))
            lab = (logits[:, 0] > 0) if logits.shape[1] == 1 else logits.argmax(1)
            out.append(lab.numpy().astype(np.uint8))
    return np.concatenate(out) if out else np.zeros((0, 1, 1), np.uint8)


def _lr_factor(step: int, total: int) -> float:
    warm = min(1.0, (step + 1) / max(1, min(100, total // 10)))
    return warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / max(1, total))))


def _write_log(run: Path, spec: NetSpec, cfg: FitConfig, history: list[dict], extra: dict[str, Any]) -> None:
    doc = {"spec": spec.to_dict(), "config": asdict(cfg), **extra, "epochs": history}
    write_bytes_atomic(run / LOG, (json.dumps(doc, indent=1) + "\n").encode())


def check_run(run: Path, resume: bool) -> None:
    """Refuse to start over in a run folder that holds a checkpoint, unless resuming."""
    if (run / CHECKPOINT).exists() and not resume:
        raise InputError("holds a checkpoint from an earlier run: pass --resume to continue it, or use "
                         "another output folder", run)


def fit(spec: NetSpec, sample: Sampler, validate: Validator, run: Path, cfg: FitConfig, *,
        resume: bool = False, extra: dict[str, Any] | None = None,
        net: nn.Module | None = None) -> Iterator[dict]:
    """Train the network ``spec`` describes, yielding ``{"step", "loss"}`` every step and the
    epoch's record (``epoch``, ``loss``, ``val_iou``, ...) after each epoch."""
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    extra = dict(extra or {})
    torch.manual_seed(cfg.seed)
    net = net if net is not None else build_net(spec)
    make_groups = getattr(net, "param_groups", None)
    groups = make_groups(cfg.lr) if callable(make_groups) else \
        [{"params": list(net.parameters()), "lr": cfg.lr, "base_lr": cfg.lr}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    history: list[dict] = []
    start, best = 0, -1.0
    ckpt = run / CHECKPOINT
    check_run(run, resume)
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt, "net", "vidseg training checkpoint")
        if state.get("spec") != spec.to_dict():
            raise InputError(f"was trained as {state.get('spec')}, not {spec.to_dict()}: resume with the "
                             "same options", ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        start, history, best = int(state["epoch"]), list(state["history"]), float(state["best"])
    total = cfg.epochs * cfg.steps_per_epoch
    t0 = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    for epoch in range(start, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 100003 + epoch)
        net.train()
        losses = []
        for s in range(cfg.steps_per_epoch):
            step = epoch * cfg.steps_per_epoch + s
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * _lr_factor(step, total)
            x, target, weight = (torch.from_numpy(a) for a in sample(rng, cfg.batch))
            loss = segmentation_loss(net(x), target, weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            losses.append(float(loss.item()))
            yield {"step": step + 1, "total": total, "loss": float(np.mean(losses[-20:]))}
        scores = validate(net)
        record = {"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 5),
                  **{k: round(v, 5) for k, v in scores.items()},
                  "seconds": round(time.perf_counter() - t0, 1)}
        history.append(record)
        if scores["val_iou"] > best:
            best = scores["val_iou"]
            save_checkpoint(run / BEST, {"spec": spec.to_dict(), "net": net.state_dict(), "epoch": epoch + 1,
                                         "val_iou": best})
        save_checkpoint(ckpt, {"spec": spec.to_dict(), "net": net.state_dict(), "opt": opt.state_dict(),
                               "epoch": epoch + 1, "history": history, "best": best})
        _write_log(run, spec, cfg, history, extra)
        yield record


def load_net(path: Path) -> tuple[nn.Module, NetSpec]:
    """The network saved in a checkpoint (``best.pt``, ``checkpoint.pt``), in eval mode."""
    state = load_checkpoint(path, "spec", "vidseg train/distil checkpoint")
    try:
        spec = NetSpec.from_dict(state["spec"])
        net = build_net(spec, pretrained=False)
        net.load_state_dict(state["net"])
    except (TypeError, KeyError, RuntimeError) as exc:
        raise InputError(f"checkpoint does not fit its network ({str(exc).splitlines()[0][:120]})", path) from exc
    return net.eval(), spec
