"""The training loop shared by the small heads that run on the engine's cached backbone features
(the primary-object head of ``vidseg train-auto``, the click head of ``vidseg train-clicks``):
AdamW with warm-up and cosine decay, a log record every 25 iterations, scores on the validation
and left-out sets, and the weights written atomically at each scoring and at the end.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vidseg.io.atomic import atomic_path
from vidseg.train.engine_data import FeatureBank
from vidseg.train.engine_train import EngineTrainConfig, build_banks


@dataclass
class HeadTrainConfig:
    """Everything a training run of a head depends on (saved in the run folder)."""

    davis: list[str]
    coco: list[str] = field(default_factory=list)
    val: str | None = None
    holdout: list[str] = field(default_factory=list)
    iterations: int = 1500
    batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    val_every: int = 500
    coco_fraction: float = 0.3

    def engine_config(self) -> EngineTrainConfig:
        """The engine's training config naming the same feature banks."""
        return EngineTrainConfig(davis=self.davis, coco=self.coco, val=self.val, holdout=self.holdout,
                                 seed=self.seed, threads=self.threads)


def _lr_at(cfg: HeadTrainConfig, it: int) -> float:
    warm = min(1.0, (it + 1) / 100)
    return cfg.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * it / cfg.iterations)))


#: ``batch_loss(net, train bank, rng)`` -> the loss of one batch
BatchLoss = Callable[[nn.Module, FeatureBank, np.random.Generator], torch.Tensor]
#: ``score(net, bank)`` -> a score per sequence of the bank
Scorer = Callable[[nn.Module, FeatureBank], dict[str, float]]


def train_head(cfg: HeadTrainConfig, run: Path, make_net: Callable[[], nn.Module], batch_loss: BatchLoss, score: Scorer,
               weights_name: str, cache: Path | None = None,
               progress: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Train the network ``make_net()`` makes (after seeding), yielding a log record every 25 iterations and after each scoring. Writes
    ``run/config.json``, ``run/log.jsonl`` and ``run/<weights_name>`` (atomically, at each scoring
    and at the end). ``cache`` holds the feature banks (default ``run/cache``; a ``train-engine``
    run's cache folder serves as well)."""
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    train_bank, val_bank, hold_bank = build_banks(
        cfg.engine_config(), cache or run / "cache",
        progress=lambda name, done, total: progress and progress(
            {"stage": "features", "set": name, "done": done, "total": total}))
    net = make_net()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    log_path = run / "log.jsonl"
    log_path.unlink(missing_ok=True)
    running, t0 = 0.0, time.perf_counter()
    for it in range(cfg.iterations):
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, it)
        net.train()
        loss = batch_loss(net, train_bank, rng)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        running = loss.item() if it == 0 else 0.95 * running + 0.05 * loss.item()
        record: dict = {"iteration": it + 1, "loss": round(running, 4),
                        "seconds": round(time.perf_counter() - t0, 1)}
        done = it + 1 == cfg.iterations
        if (it + 1) % cfg.val_every == 0 or done:
            net.eval()
            for key, bank in (("val", val_bank), ("holdout", hold_bank)):
                if bank is not None:
                    per = score(net, bank)
                    record[f"{key}_iou"] = round(float(np.mean(list(per.values()))), 4)
                    record[key] = {k: round(v, 4) for k, v in per.items()}
            with atomic_path(run / weights_name, force=True) as tmp:  # the weights so far, at each scoring
                torch.save(net.state_dict(), tmp)
        if (it + 1) % 25 == 0 or done or "val_iou" in record or "holdout_iou" in record:
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            yield record
    with atomic_path(run / weights_name, force=True) as tmp:
        torch.save(net.state_dict(), tmp)
