"""Training the learned tracking engine (torch, CPU): frozen backbone features cached once,
short clips (STM-style: the first frame's mask given, the later ones predicted from memory),
a validation curve from whole-sequence propagation, atomic checkpoints and resume.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from vidseg.errors import InputError
from vidseg.eval.metrics import jaccard
from vidseg.io.atomic import atomic_path
from vidseg.train.checkpoint import load_checkpoint as read_checkpoint
from vidseg.train.checkpoint import save_checkpoint
from vidseg.train.engine_data import (
    ClipSampler,
    FeatureBank,
    coco_pseudo_clips,
    davis_sequences,
    extract_features,
    flipped,
    load_davis_clip,
    zoomed,
)
from vidseg.train.engine_net import EngineNet, memory_readout


@dataclass
class EngineTrainConfig:
    """Everything a training run depends on (saved in the run folder)."""

    davis: list[str]
    coco: list[str] = field(default_factory=list)
    val: str | None = None
    holdout: list[str] = field(default_factory=list)
    iterations: int = 6000
    batch: int = 8
    lr: float = 5e-4
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    val_every: int = 500
    max_gap_start: int = 4
    max_gap_end: int = 20
    coco_fraction: float = 0.3
    zooms: list[float] = field(default_factory=list)  # each video also seen through these fixed zooms
    clip_frames: int = 3  # frames per training clip: the given one and the ones predicted after it
    init: str | None = None  # start from these weights (engine.pt or checkpoint.pt), not at random
    device: str = "cpu"  # torch device to train on ("cpu" or "cuda"); the features stay cached on disk


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_banks(cfg: EngineTrainConfig, cache: Path,
                progress: Callable[[str, int, int], None] | None = None
                ) -> tuple[FeatureBank, FeatureBank | None, FeatureBank | None]:
    """Feature banks for training, the validation set and the held-out train sequences; each is
    computed once and kept under ``cache``."""
    def make(name: str, clips_fn: Callable[[], list]) -> FeatureBank:
        folder = cache / name
        if FeatureBank.exists(folder):
            return FeatureBank.load(folder)
        clips = clips_fn()
        total = sum(len(c.images) for c in clips)
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(name, done[0], total)

        bank = extract_features(clips, progress=tick)
        bank.save(folder)
        return bank

    def train_clips() -> list:
        clips = []
        for root in cfg.davis:
            for name, frames, masks in davis_sequences(Path(root)):
                if name in cfg.holdout:
                    continue
                clip = load_davis_clip(name, frames, masks)
                clips += [clip, flipped(clip), *(zoomed(clip, z) for z in cfg.zooms)]
        rng = np.random.default_rng(cfg.seed)
        for root in cfg.coco:
            clips += coco_pseudo_clips(Path(root), rng)
        if not clips:
            raise InputError("no training clips found in the given data")
        return clips

    def seqs(root: str | None, only: list[str] | None) -> list:
        assert root is not None
        return [load_davis_clip(n, f, m) for n, f, m in davis_sequences(Path(root))
                if only is None or n in only]

    tag = "-".join(sorted(cfg.holdout)) if cfg.holdout else "all"
    zoom = "".join(f"-zoom{z:g}" for z in cfg.zooms)
    train = make(f"train-{tag}-coco{len(cfg.coco)}{zoom}-seed{cfg.seed}", train_clips)
    val = make("val", lambda: seqs(cfg.val, None)) if cfg.val else None
    hold = (make(f"holdout-{tag}", lambda: [c for r in cfg.davis for c in seqs(r, cfg.holdout)])
            if cfg.holdout else None)
    return train, val, hold


def tensor(a: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """``a`` as a contiguous float32 torch tensor (sharing memory where it can), on ``device``
    when given."""
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t if device is None or device.type == "cpu" else t.to(device, non_blocking=True)


def _device_of(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


def _pool4(mask: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(mask, 4)


def segmentation_loss(logits4: torch.Tensor, target: torch.Tensor, top_fraction: float) -> torch.Tensor:
    """Bootstrapped BCE (the hardest ``top_fraction`` of pixels) plus soft Dice, on logits at
    stride 4 upsampled to the target's size."""
    logits = F.interpolate(logits4, size=target.shape[-2:], mode="bilinear", align_corners=False)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1)
    k = max(1, int(bce.shape[1] * top_fraction))
    hard = bce.topk(k, dim=1).values.mean()
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    dice = 1 - (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
    return hard + dice.mean()


def clip_step(net: EngineNet, batch: dict[str, np.ndarray], top_fraction: float) -> torch.Tensor:
    """The loss of one batch of clips: frame 0's mask given, each later frame predicted from the
    memory of every frame before it (the given one and the earlier predictions, as STM trains),
    with the previous frame's predicted mask as its prior."""
    dev = _device_of(net)
    f4, f8, f16 = (tensor(batch[k], dev) for k in ("f4", "f8", "f16"))
    mask, others = tensor(batch["mask"], dev), tensor(batch["others"], dev)
    b, frames = f16.shape[:2]
    keys = net.key(f16.flatten(0, 1)).view(b, frames, -1, *f16.shape[-2:])
    prev4 = _pool4(mask[:, 0:1])
    mem_k = [keys[:, 0].flatten(2)]
    mem_v = [net.value(f4[:, 0], f8[:, 0], f16[:, 0], prev4, _pool4(others[:, 0:1])).flatten(2)]
    loss = torch.zeros((), device=dev)
    for t in range(1, frames):
        readout = memory_readout(keys[:, t], torch.cat(mem_k, 2), torch.cat(mem_v, 2))
        logits = net.decoder(readout, f16[:, t], f8[:, t], f4[:, t], prev4)
        loss = loss + segmentation_loss(logits, mask[:, t:t + 1], top_fraction)
        if t < frames - 1:
            prev4 = torch.sigmoid(logits)
            mem_k.append(keys[:, t].flatten(2))
            mem_v.append(net.value(f4[:, t], f8[:, t], f16[:, t], prev4,
                                   _pool4(others[:, t:t + 1])).flatten(2))
    return loss / (frames - 1)


@torch.no_grad()
def propagate_sequence(net: EngineNet, bank: FeatureBank, start: int, end: int,
                       every: int = 5, recent: int = 3) -> np.ndarray:
    """Follow object 1 of frame ``start``'s labels through rows ``start..end``: memory = the given
    frame, the previous frame and the last ``recent`` of every ``every``-th frame. Returns
    (T, H, W) probabilities at the label size."""
    dev = _device_of(net)

    def feats(r: int) -> tuple[torch.Tensor, ...]:
        return tuple(tensor(getattr(bank, n)[r:r + 1], dev) for n in ("f4", "f8", "f16"))

    size = bank.labels.shape[1:]
    first = tensor((bank.labels[start:start + 1, None] > 0).astype(np.float32), dev)
    f4, f8, f16 = feats(start)
    prev4 = _pool4(first)
    zero4 = torch.zeros_like(prev4)
    given = (net.key(f16).flatten(2), net.value(f4, f8, f16, prev4, zero4).flatten(2))
    periodic: list[tuple[torch.Tensor, torch.Tensor]] = []
    last = given
    probs = [first[0, 0].cpu().numpy()]
    for r in range(start + 1, end):
        f4, f8, f16 = feats(r)
        key = net.key(f16)
        entries = [given, *periodic[-recent:], last]
        mk = torch.cat([e[0] for e in entries], 2)
        mv = torch.cat([e[1] for e in entries], 2)
        logits = net.decoder(memory_readout(key, mk, mv), f16, f8, f4, prev4)
        prob4 = torch.sigmoid(logits)
        prev4 = prob4
        last = (key.flatten(2), net.value(f4, f8, f16, prob4, zero4).flatten(2))
        if (r - start) % every == 0:
            periodic.append(last)
        full = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        probs.append(torch.sigmoid(full)[0, 0].cpu().numpy())
    return np.stack(probs)


def mean_iou(net: EngineNet, bank: FeatureBank) -> dict[str, float]:
    """Per sequence: the mean IoU of the propagated mask over the frames DAVIS scores (all but the
    first and the last)."""
    out = {}
    for name, a, b in bank.ranges:
        probs = propagate_sequence(net, bank, a, b)
        gt = bank.labels[a:b] > 0
        scores = [jaccard(gt[t], probs[t] > 0.5) for t in range(1, b - a - 1)]
        out[name] = float(np.mean(scores)) if scores else 1.0
    return out


def _save_checkpoint(path: Path, net: EngineNet, opt: torch.optim.Optimizer, it: int,
                     rng: np.random.Generator, history: list[dict]) -> None:
    save_checkpoint(path, {"net": net.state_dict(), "opt": opt.state_dict(), "iteration": it,
                           "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                           "history": history})


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's state; a corrupt or foreign file gives an :class:`InputError`."""
    return read_checkpoint(path, "net", "vidseg engine checkpoint")


def load_weights(path: Path) -> dict:
    """The network's state from a run's ``engine.pt`` or ``checkpoint.pt``; a missing, corrupt or
    foreign file gives an :class:`InputError` naming it."""
    if not path.is_file():
        raise InputError("no such weights file", path)
    if path.name == "checkpoint.pt":
        return load_checkpoint(path)["net"]
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise InputError(f"not a torch weights file ({type(exc).__name__})", path) from None
    expected = set(EngineNet().state_dict())
    if not isinstance(state, dict) or set(state) != expected:
        raise InputError("not the weights of a vidseg tracking engine", path)
    return state


def _training_device(name: str) -> torch.device:
    """The torch device ``name``; a CUDA device that torch cannot see gives an :class:`InputError`."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device: unknown torch device {name!r} (use cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: torch sees no CUDA GPU here (train with --device cpu)")
    return device


def _lr_at(cfg: EngineTrainConfig, it: int) -> float:
    warm = min(1.0, (it + 1) / 200)
    return cfg.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * it / cfg.iterations)))


def train_engine(cfg: EngineTrainConfig, run: Path, resume: bool = False,
                 progress: Callable[[dict], None] | None = None) -> Iterator[dict]:
    """Train, yielding a log record every 25 iterations and after each validation. Writes
    ``run/config.json``, ``run/log.jsonl``, ``run/checkpoint.pt`` (atomically, at each validation
    and at the end) and ``run/engine.pt`` (the final weights)."""
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    device = _training_device(cfg.device)  # before the features: a wrong device fails at once
    _seed_all(cfg.seed)
    train_bank, val_bank, hold_bank = build_banks(
        cfg, run / "cache",
        progress=lambda name, done, total: progress and progress(
            {"stage": "features", "set": name, "done": done, "total": total}))
    net = EngineNet()
    if cfg.init:
        net.load_state_dict(load_weights(Path(cfg.init)))
    net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    history: list[dict] = []
    start = 0
    ckpt = run / "checkpoint.pt"
    if resume and ckpt.is_file():
        state = load_checkpoint(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start, history = int(state["iteration"]), list(state["history"])
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    sampler = ClipSampler(train_bank, rng, cfg.coco_fraction, cfg.clip_frames)
    log_path = run / "log.jsonl"
    if start == 0 and log_path.exists():
        log_path.unlink()
    running, t0 = 0.0, time.perf_counter()
    for it in range(start, cfg.iterations):
        frac = it / max(1, cfg.iterations - 1)
        max_gap = int(round(cfg.max_gap_start + (cfg.max_gap_end - cfg.max_gap_start) * min(1.0, 2 * frac)))
        top = 1.0 if frac < 0.1 else max(0.15, 1.0 - (frac - 0.1) * 4)
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, it)
        net.train()
        loss = clip_step(net, sampler.batch(cfg.batch, max_gap), top)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        running = loss.item() if it == start else 0.95 * running + 0.05 * loss.item()
        record: dict = {"iteration": it + 1, "loss": round(running, 4), "lr": _lr_at(cfg, it),
                        "max_gap": max_gap, "seconds": round(time.perf_counter() - t0, 1)}
        done = it + 1 == cfg.iterations
        if (it + 1) % cfg.val_every == 0 or done:
            net.eval()
            if val_bank is not None:
                per = mean_iou(net, val_bank)
                record["val_iou"] = round(float(np.mean(list(per.values()))), 4)
                record["val"] = {k: round(v, 4) for k, v in per.items()}
            if hold_bank is not None:
                per = mean_iou(net, hold_bank)
                record["holdout_iou"] = round(float(np.mean(list(per.values()))), 4)
                record["holdout"] = {k: round(v, 4) for k, v in per.items()}
            history.append(record)
            _save_checkpoint(ckpt, net, opt, it + 1, rng, history)
        if (it + 1) % 25 == 0 or "val_iou" in record or "holdout_iou" in record or done:
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            yield record
    with atomic_path(run / "engine.pt", force=True) as tmp:
        torch.save({k: v.cpu() for k, v in net.state_dict().items()}, tmp)
