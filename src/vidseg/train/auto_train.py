"""Training the primary-object head (torch, CPU) on cached backbone features.

Targets: a DAVIS-2016 frame's mask is exactly "the primary object"; a COCO image's main object
is its largest instance. The feature banks are the ones ``vidseg train-engine`` builds (same
cache names, so one cache serves both trainings): :func:`vidseg.train.engine_train.build_banks`.
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

from vidseg.eval.metrics import jaccard
from vidseg.io.atomic import atomic_path
from vidseg.train.auto_net import SaliencyHead
from vidseg.train.engine_data import FeatureBank
from vidseg.train.engine_train import EngineTrainConfig, build_banks, segmentation_loss


@dataclass
class AutoTrainConfig:
    """Everything a training run of the head depends on (saved in the run folder)."""

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


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


@torch.no_grad()
def frame_iou(net: SaliencyHead, bank: FeatureBank, chunk: int = 16) -> dict[str, float]:
    """Per sequence: the mean IoU of the head's mask (probability > 0.5) with the ground truth
    over the frames DAVIS scores (all but the first and the last)."""
    import torch.nn.functional as F  # noqa: N812

    out = {}
    size = bank.labels.shape[1:]
    for name, a, b in bank.ranges:
        scores = []
        for s in range(a, b, chunk):
            e = min(b, s + chunk)
            logits = net(*(_tensor(getattr(bank, n)[s:e]) for n in ("f4", "f8", "f16")))
            pred = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)[:, 0] > 0
            for k in range(e - s):
                if a < s + k < b - 1:
                    scores.append(jaccard(bank.labels[s + k] > 0, pred[k].numpy()))
        out[name] = float(np.mean(scores)) if scores else 1.0
    return out


def _lr_at(cfg: AutoTrainConfig, it: int) -> float:
    warm = min(1.0, (it + 1) / 100)
    return cfg.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * it / cfg.iterations)))


def train_auto(cfg: AutoTrainConfig, run: Path, cache: Path | None = None,
               progress: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Train, yielding a log record every 25 iterations and after each validation. Writes
    ``run/config.json``, ``run/log.jsonl`` and ``run/head.pt`` (the weights, atomically, at each
    scoring and at the end).
    ``cache`` holds the feature banks (default ``run/cache``; a ``train-engine`` run's cache
    folder serves as well)."""
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    train_bank, val_bank, hold_bank = build_banks(
        cfg.engine_config(), cache or run / "cache",
        progress=lambda name, done, total: progress and progress(
            {"stage": "features", "set": name, "done": done, "total": total}))
    net = SaliencyHead()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    sampler = MainObjectSampler(train_bank, rng, cfg.coco_fraction)
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    log_path = run / "log.jsonl"
    log_path.unlink(missing_ok=True)
    running, t0 = 0.0, time.perf_counter()
    for it in range(cfg.iterations):
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, it)
        net.train()
        batch = sampler.batch(cfg.batch)
        logits = net(*(_tensor(batch[n]) for n in ("f4", "f8", "f16")))
        loss = segmentation_loss(logits, _tensor(batch["target"]), 1.0)
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
                    per = frame_iou(net, bank)
                    record[f"{key}_iou"] = round(float(np.mean(list(per.values()))), 4)
                    record[key] = {k: round(v, 4) for k, v in per.items()}
            with atomic_path(run / "head.pt", force=True) as tmp:  # the weights so far, at each scoring
                torch.save(net.state_dict(), tmp)
        if (it + 1) % 25 == 0 or done or "val_iou" in record or "holdout_iou" in record:
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            yield record
    with atomic_path(run / "head.pt", force=True) as tmp:
        torch.save(net.state_dict(), tmp)
