"""The learned engine's second stage: a :class:`~vidseg.train.engine_net.MaskRefiner` trained on
the engine's own predictions (the exported graphs run forward and backward over every training
sequence, the given frame's mask at the start), to sharpen them to the working resolution.

Its corrections count only within ``band`` pixels of the predicted edge, as the tracker applies
them (:func:`vidseg.vos.learned.tracker.edge_band`): free to change anything, it carved holes
into objects whose colours resemble the background.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from vidseg.errors import InputError
from vidseg.io.atomic import atomic_path
from vidseg.io.palette import read_mask
from vidseg.train.engine_data import davis_sequences
from vidseg.train.engine_net import MaskRefiner
from vidseg.vos.learned.config import LearnedConfig
from vidseg.vos.learned.tracker import refiner_image

CROP = (160, 224)  # (h, w) of a training crop at the working resolution (multiples of 4)
#: the engine's settings for the predictions the refiner learns from (the training sequences'
#: own 240 px grid; the shipped refiner was made with these, whatever the presets use now)
SAMPLE_CONFIG = LearnedConfig(name="refiner-samples", work_short=240, memory_every=20, memory_work=2,
                              refine=False)


@dataclass
class RefinerSamples:
    """Frames at the working size with the engine's stride-4 logits of the followed object."""

    images: np.ndarray  # (N, H, W, 3) uint8 RGB
    logits4: np.ndarray  # (N, H/4, W/4) float16
    f4: np.ndarray  # (N, 24, H/4, W/4) float16
    targets: np.ndarray  # (N, H, W) uint8, 255 = object (area-resized ground truth)


def collect_samples(engine: Path, davis: list[str], holdout: list[str], threads: int = 2,
                    progress: Callable[[int, int], None] | None = None) -> RefinerSamples:
    """Run the engine in ``engine`` (with :data:`SAMPLE_CONFIG`) over each sequence of ``davis`` (except ``holdout``), forward
    from its first frame with an object and backward from its last, and keep what the refiner
    learns from on every predicted frame."""
    from vidseg.vos.learned.tracker import LearnedTracker, work_size

    seqs = [(f, m) for root in davis for n, f, m in davis_sequences(Path(root)) if n not in holdout]
    if not seqs:
        raise InputError("no training sequences for the refiner")
    tracker = LearnedTracker(replace(SAMPLE_CONFIG, weights=str(engine), threads=threads))
    images, logits, f4s, targets = [], [], [], []
    total, done = len(seqs), 0
    for frames_dir, masks_dir in seqs:
        frames = sorted(frames_dir.glob("*.jpg"))
        masks = [masks_dir / f"{p.stem}.png" for p in frames]
        objects = [i for i, m in enumerate(masks) if m.is_file() and (read_mask(m) > 0).any()]
        rows = list(range(len(frames)))
        for order in (rows[objects[0]:], rows[:objects[-1] + 1][::-1]) if objects else ():
            tracker.reset()
            for n, i in enumerate(order):
                bgr = cv2.imread(str(frames[i]), cv2.IMREAD_COLOR)
                if bgr is None:
                    raise InputError("cannot read frame", frames[i])
                image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                truth = (read_mask(masks[i]) > 0) if masks[i].is_file() else np.zeros(image.shape[:2], bool)
                tracker.step(image, truth.astype(np.uint8) if n == 0 else None)
                if n == 0 or 1 not in tracker.last_logits4 or tracker.last_features is None:
                    continue
                h, w = work_size(image.shape[:2], tracker.config.work_short)
                images.append(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA))
                logits.append(tracker.last_logits4[1].astype(np.float16))
                f4s.append(tracker.last_features.f4[0].astype(np.float16))
                soft = cv2.resize(truth.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
                targets.append((soft * 255 + 0.5).astype(np.uint8))
        done += 1
        if progress is not None:
            progress(done, total)
    if not images or len({a.shape for a in images}) > 1:
        raise InputError("the refiner needs predicted frames of one working size (sequences of one resolution)")
    return RefinerSamples(np.stack(images), np.stack(logits), np.stack(f4s), np.stack(targets))


def edge_band(logits: torch.Tensor, radius: int) -> torch.Tensor:
    """1 within ``radius`` pixels of the edge of ``logits > 0`` (torch twin of the tracker's)."""
    if radius <= 0:
        return torch.ones_like(logits)
    inside = (logits > 0).float()
    k = 2 * radius + 1
    grown = F.max_pool2d(inside, k, 1, radius)
    shrunk = -F.max_pool2d(-inside, k, 1, radius)
    return (grown - shrunk > 0).float()


def _batch(s: RefinerSamples, rows: np.ndarray, rng: np.random.Generator
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crops (mostly around the object, half of them mirrored) of ``rows``."""
    h, w = s.images.shape[1:3]
    ch, cw = min(CROP[0], h) // 4 * 4, min(CROP[1], w) // 4 * 4
    ims, lgs, fs, ts = [], [], [], []
    for r in rows:
        ys, xs = np.nonzero(s.targets[r] > 127)
        if len(ys) and rng.random() < 0.8:
            k = rng.integers(len(ys))
            y, x = int(np.clip(ys[k] - ch // 2, 0, h - ch)), int(np.clip(xs[k] - cw // 2, 0, w - cw))
        else:
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        y, x = y // 4 * 4, x // 4 * 4
        im = s.images[r, y:y + ch, x:x + cw]
        lg = s.logits4[r, y // 4:(y + ch) // 4, x // 4:(x + cw) // 4]
        f4 = s.f4[r, :, y // 4:(y + ch) // 4, x // 4:(x + cw) // 4]
        t = s.targets[r, y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            im, lg, f4, t = im[:, ::-1], lg[:, ::-1], f4[:, :, ::-1], t[:, ::-1]
        ims.append(im)
        lgs.append(lg[None])
        fs.append(f4)
        ts.append(t[None])

    def stack(parts: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(np.stack(parts), dtype=np.float32))

    return torch.from_numpy(np.ascontiguousarray(refiner_image(np.stack(ims)))), stack(lgs), stack(fs), stack(ts) / 255.0


def refiner_loss(refiner: MaskRefiner, image: torch.Tensor, logits4: torch.Tensor, f4: torch.Tensor,
                 target: torch.Tensor, band: int) -> torch.Tensor:
    """BCE plus soft Dice of the refined logits, the refiner's corrections counted within ``band``."""
    base = F.interpolate(logits4, scale_factor=4.0, mode="bilinear", align_corners=False)
    out = base + edge_band(base, band) * (refiner(image, logits4, f4) - base)
    p = torch.sigmoid(out)
    dice = 1 - (2 * (p * target).sum((1, 2, 3)) + 1) / (p.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return F.binary_cross_entropy_with_logits(out, target) + dice.mean()


def train_refiner(samples: RefinerSamples, run: Path, iterations: int = 2000, batch: int = 16,
                  lr: float = 2e-3, band: int = 3, seed: int = 0, threads: int = 2) -> Iterator[dict]:
    """Train, yielding a record every 25 iterations (also appended to ``run/refine_log.jsonl``);
    writes ``run/refiner.pt`` atomically at the end."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    refiner = MaskRefiner()
    opt = torch.optim.AdamW(refiner.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=iterations, pct_start=0.1)
    log = run / "refine_log.jsonl"
    log.unlink(missing_ok=True)
    running, t0 = 0.0, time.perf_counter()
    for it in range(iterations):
        loss = refiner_loss(refiner, *_batch(samples, rng.integers(0, len(samples.images), batch), rng), band)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        running = loss.item() if it == 0 else 0.95 * running + 0.05 * loss.item()
        if (it + 1) % 25 == 0 or it + 1 == iterations:
            record = {"iteration": it + 1, "loss": round(running, 4), "seconds": round(time.perf_counter() - t0, 1)}
            with open(log, "a") as f:
                f.write(json.dumps(record) + "\n")
            yield record
    with atomic_path(run / "refiner.pt", force=True) as tmp:
        torch.save(refiner.state_dict(), tmp)


def load_refiner(path: Path) -> MaskRefiner:
    """The refiner saved in ``path``; a missing or foreign file gives an :class:`InputError`."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError("no such refiner weights file", path) from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise InputError(f"not a torch weights file ({type(exc).__name__})", path) from None
    refiner = MaskRefiner()
    if not isinstance(state, dict) or set(state) != set(refiner.state_dict()):
        raise InputError("not the weights of a vidseg mask refiner", path)
    refiner.load_state_dict(state)
    return refiner.eval()
