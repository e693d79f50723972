"""A deliberately literal, slow re-statement of the official davis2017-evaluation definitions
(db_eval_iou, f_measure with _seg2bmap and a skimage-style disk, db_statistics, the
semi-supervised loop), used only as an oracle for the vectorised package code.

Independent of the package: it builds the disk with meshgrid and dilates with scipy.ndimage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import binary_dilation


def ref_iou(annotation: np.ndarray, segmentation: np.ndarray, void: np.ndarray | None = None) -> float:
    a, s = annotation.astype(bool), segmentation.astype(bool)
    v = np.zeros_like(s) if void is None else void.astype(bool)
    inters = np.sum((s & a) & np.logical_not(v))
    union = np.sum((s | a) & np.logical_not(v))
    return 1.0 if np.isclose(union, 0) else float(inters / union)


def ref_seg2bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def ref_disk(radius: float) -> np.ndarray:
    grid = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(grid, grid)
    return np.asarray(x**2 + y**2 <= radius**2)


def ref_f_measure(foreground: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None,
                  bound_th: float = 0.008) -> float:
    v = np.zeros_like(foreground, dtype=bool) if void is None else void.astype(bool)
    bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(foreground.shape))
    fg_b = ref_seg2bmap(foreground.astype(bool) * np.logical_not(v))
    gt_b = ref_seg2bmap(gt.astype(bool) * np.logical_not(v))
    k = ref_disk(bound_pix)
    fg_dil = binary_dilation(fg_b, k)
    gt_dil = binary_dilation(gt_b, k)
    n_fg, n_gt = np.sum(fg_b), np.sum(gt_b)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.sum(fg_b * gt_dil) / float(n_fg)
        recall = np.sum(gt_b * fg_dil) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def ref_statistics(values: np.ndarray) -> tuple[float, float, float]:
    m = np.nanmean(values)
    o = np.nanmean(values > 0.5)
    ids = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(int)
    bins = [values[ids[i] : ids[i + 1] + 1] for i in range(4)]
    d = np.nanmean(bins[0]) - np.nanmean(bins[3])
    return float(m), float(o), float(d)


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        a = np.array(im)
        if im.mode != "P" and set(np.unique(a).tolist()) <= {0, 255}:
            a = (a == 255).astype(np.uint8)  # DAVIS-2016 binary: 255 is object 1
    return a


def ref_evaluate_semi(gt_root: Path, pred_root: Path, seqs: list[str]) -> dict[str, object]:
    """The official semi-supervised loop: frames 1..N-2, objects 1..max of the first frame."""
    jm, jr, jd, fm, fr, fd = [], [], [], [], [], []
    per_obj: dict[str, tuple[float, float]] = {}
    for seq in seqs:
        files = sorted((gt_root / seq).glob("*.png"))
        gts = np.stack([_load(f) for f in files]).astype(float)
        gts[gts == 255] = 0
        n_obj = int(gts[0].max())
        ids = [f.stem for f in files][1:-1]
        gts = gts[1:-1]
        res = np.stack([_load(pred_root / seq / f"{i}.png") for i in ids]).astype(float)
        for k in range(1, n_obj + 1):
            j = np.array([ref_iou(g == k, r == k) for g, r in zip(gts, res, strict=True)])
            f = np.array([ref_f_measure(r == k, g == k) for g, r in zip(gts, res, strict=True)])
            a, b, c = ref_statistics(j)
            jm.append(a)
            jr.append(b)
            jd.append(c)
            a2, b2, c2 = ref_statistics(f)
            fm.append(a2)
            fr.append(b2)
            fd.append(c2)
            per_obj[f"{seq}/{k}"] = (a, a2)
    mean = {"J": np.mean(jm), "J-recall": np.mean(jr), "J-decay": np.mean(jd),
            "F": np.mean(fm), "F-recall": np.mean(fr), "F-decay": np.mean(fd)}
    mean["J&F"] = (mean["J"] + mean["F"]) / 2
    return {"mean": {k: float(v) for k, v in mean.items()}, "objects": per_obj}
