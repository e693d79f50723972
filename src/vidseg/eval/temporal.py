"""Temporal stability of predicted masks: flicker against ground truth, and a ground-truth-free
temporal consistency (IoU of the previous prediction warped by optical flow with the current)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from vidseg.errors import ArgumentError, InputError
from vidseg.eval.metrics import jaccard


def flicker(gt_masks: Sequence[np.ndarray], pred_masks: Sequence[np.ndarray]) -> float:
    """Flicker of one object over consecutive frames.

    The mean number of pixels per frame transition whose predicted membership changes while the
    ground truth's does not, divided by the object's mean ground-truth area. 0 is perfectly
    stable; NaN when there is no transition or the object is never present.
    """
    if len(gt_masks) != len(pred_masks):
        raise ArgumentError("ground truth and prediction have different frame counts")
    if len(gt_masks) < 2:
        return float("nan")
    area = float(np.mean([np.count_nonzero(g) for g in gt_masks]))
    if area == 0:
        return float("nan")
    changes = [
        np.count_nonzero((p1 != p0) & (g1 == g0))
        for g0, g1, p0, p1 in zip(gt_masks[:-1], gt_masks[1:], pred_masks[:-1], pred_masks[1:],
                                  strict=True)
    ]
    return float(np.mean(changes)) / area


def backward_flow(prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
    """Dense optical flow (DIS, medium preset) from the current frame to the previous one: pixel
    (x, y) of ``cur`` came from (x + u, y + v) of ``prev``. Returns HxWx2 float32."""
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    g0 = cv2.cvtColor(prev_rgb, cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(cur_rgb, cv2.COLOR_RGB2GRAY)
    flow = np.zeros((*g1.shape, 2), np.float32)
    return np.asarray(dis.calc(g1, g0, flow), dtype=np.float32)


def warp_labels(labels: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Warp a label map of the previous frame onto the current one with a backward flow."""
    h, w = labels.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(labels, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def temporal_consistency(
    pairs: Iterable[tuple[np.ndarray, np.ndarray | None]],
) -> dict[int, np.ndarray]:
    """Per object id, the IoU at each frame transition between the previous prediction warped by
    optical flow and the current prediction, over transitions where the object is in either.

    ``pairs`` yields ``(RGB frame, label map or None)``; a frame without a label map breaks the
    chain of transitions.
    """
    per_obj: dict[int, list[float]] = {}
    prev_img: np.ndarray | None = None
    prev_lab: np.ndarray | None = None
    for img, lab in pairs:
        if lab is not None and lab.shape != img.shape[:2]:
            raise ArgumentError(f"mask shape {lab.shape} does not match frame shape {img.shape[:2]}")
        if lab is not None and prev_lab is not None and prev_img is not None:
            warped = warp_labels(prev_lab, backward_flow(prev_img, img))
            ids = (set(np.unique(lab).tolist()) | set(np.unique(prev_lab).tolist())) - {0}
            for k in sorted(ids):
                per_obj.setdefault(k, []).append(jaccard(warped == k, lab == k))
        prev_img, prev_lab = img, lab
    return {k: np.asarray(v, dtype=np.float64) for k, v in sorted(per_obj.items())}


def iter_frames(source: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """``(stem, RGB image)`` of each frame of a video file or a folder of frames."""
    from vidseg.io.reader import open_video

    with open_video(Path(source)) as reader:
        for fr in reader:
            yield fr.stem, fr.image


def consistency_of_folder(frames: str | Path, pred: str | Path) -> dict[int, float]:
    """Mean temporal consistency per object of the masks ``pred/<stem>.png`` over the video or
    frame folder ``frames`` (frames without a mask are skipped). Raises :class:`InputError`."""
    from vidseg.eval.dataset import read_labels

    pred_dir = Path(pred)
    found = 0

    def pairs() -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        nonlocal found
        for stem, img in iter_frames(frames):
            mp = pred_dir / f"{stem}.png"
            lab = read_labels(mp) if mp.is_file() else None
            if lab is not None:
                found += 1
                if lab.shape != img.shape[:2]:
                    raise InputError(f"mask size {lab.shape[1]}x{lab.shape[0]} differs from the "
                                     f"frame's {img.shape[1]}x{img.shape[0]}", mp)
            yield img, lab

    per = temporal_consistency(pairs())
    if found == 0:
        raise InputError(f"no mask matches a frame of {frames}", pred_dir)
    return {k: float(v.mean()) for k, v in per.items() if v.size}


def frames_for_sequence(video: str | Path, name: str, *, single: bool) -> Path:
    """Where the frames of sequence ``name`` are: ``VIDEO/JPEGImages/480p/<name>``,
    ``VIDEO/<name>``, or ``VIDEO`` itself (a video file or frame folder) for a single sequence."""
    v = Path(video)
    if not v.exists():
        raise InputError("video or frames folder not found", v)
    if v.is_dir():
        for cand in (v / "JPEGImages" / "480p" / name, v / "JPEGImages" / name, v / name):
            if cand.is_dir():
                return cand
    if single:
        return v
    raise InputError(f"no frames for sequence {name!r} (expected {v / name})", v)


def consistency_of_sequences(
    video: str | Path, sequences: Sequence[tuple[str, Path]]
) -> Iterator[tuple[str, dict[str, float]]]:
    """For each ``(name, results folder)``, yield ``(name, {"<name>/<id>": consistency})``."""
    single = len(sequences) == 1
    for name, pred in sequences:
        per = consistency_of_folder(frames_for_sequence(video, name, single=single), pred)
        yield name, {f"{name}/{k}": v for k, v in per.items()}
