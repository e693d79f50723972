"""Finding DAVIS-layout sequences and reading their mask PNGs quickly.

Layouts accepted for ground truth (``ANNOTATIONS``) and results (``RESULTS``):

* ``DIR/<seq>/<frame>.png`` - one folder per sequence;
* ``DIR/<frame>.png`` - a single sequence, named after the folder;
* a DAVIS dataset root - its ``Annotations/480p`` (``Annotations_unsupervised/480p`` for the
  unsupervised task) is used.

Pixel values are object ids. A non-palette PNG holding only 0 and 255 is a DAVIS-2016 binary mask:
255 is object 1. Otherwise 255 is DAVIS-2017's void label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vidseg.errors import InputError
from vidseg.io.palette import read_mask

VOID = 255
MASK_SUFFIX = ".png"


@dataclass(frozen=True)
class SequenceDirs:
    """Where one sequence's ground truth and results live."""

    name: str
    gt: Path | None
    pred: Path


def natural_key(name: str) -> list[object]:
    """Sort key putting ``frame2`` before ``frame10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_masks(folder: Path) -> list[Path]:
    """The PNG files of a folder in natural order."""
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == MASK_SUFFIX and p.is_file()),
                  key=lambda p: natural_key(p.name))


def _has_pngs(folder: Path) -> bool:
    return any(p.suffix.lower() == MASK_SUFFIX for p in folder.iterdir())


def _subfolders_with_masks(folder: Path) -> dict[str, Path]:
    return {d.name: d for d in sorted(folder.iterdir(), key=lambda d: natural_key(d.name))
            if d.is_dir() and not d.name.startswith(".") and _has_pngs(d)}


def annotation_root(path: str | Path, *, task: str = "semi-supervised") -> Path:
    """Resolve a ground-truth argument: a DAVIS root maps to its ``Annotations*/480p`` folder."""
    p = Path(path)
    if not p.exists():
        raise InputError("ground-truth folder not found", p)
    if not p.is_dir():
        raise InputError("ground truth must be a folder of PNG masks", p)
    sub = "Annotations_unsupervised" if task == "unsupervised" else "Annotations"
    for cand in (p / sub / "480p", p / "Annotations" / "480p", p / sub, p / "Annotations"):
        if cand.is_dir():
            return cand
    return p


def find_sequences(root: Path, *, what: str = "ground truth") -> dict[str, Path]:
    """Sequence name -> folder: the folder itself if it holds PNGs, else its sub-folders that do."""
    if not root.is_dir():
        raise InputError(f"{what} folder not found", root)
    if _has_pngs(root):
        return {root.resolve().name: root}
    seqs = _subfolders_with_masks(root)
    if not seqs:
        raise InputError(f"no PNG masks found in the {what} folder (expected <seq>/<frame>.png)", root)
    return seqs


def pair_sequences(
    gt: str | Path | None,
    pred: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    task: str = "semi-supervised",
) -> list[SequenceDirs]:
    """Pair ground-truth and result folders per sequence (``sequences`` restricts and orders)."""
    pred_root = Path(pred)
    if not pred_root.is_dir():
        raise InputError("results folder not found", pred_root)
    if gt is None:
        found = find_sequences(pred_root, what="results")
        names = list(sequences) if sequences else list(found)
        missing = [n for n in names if n not in found]
        if missing:
            raise InputError(f"no results for sequence {missing[0]!r}", pred_root)
        return [SequenceDirs(n, None, found[n]) for n in names]
    gt_seqs = find_sequences(annotation_root(gt, task=task))
    names = list(sequences) if sequences else list(gt_seqs)
    out = []
    flat_pred = _has_pngs(pred_root)
    for n in names:
        if n not in gt_seqs:
            raise InputError(f"no ground truth for sequence {n!r}", Path(gt))
        if (pred_root / n).is_dir():
            pdir = pred_root / n
        elif flat_pred and len(names) == 1:
            pdir = pred_root
        else:
            raise InputError(f"no results for sequence {n!r} (expected folder {pred_root / n})", pred_root)
        out.append(SequenceDirs(n, gt_seqs[n], pdir))
    return out


def read_labels(path: str | Path) -> np.ndarray:
    """Read a mask PNG as an HxW uint8 id map; a non-palette 0/255 mask becomes 0/1."""
    p = Path(path)
    try:
        with Image.open(p) as im:
            mode = im.mode
            if mode not in ("P", "L"):
                return read_mask(p)
            arr = np.asarray(im)
    except FileNotFoundError as exc:
        raise InputError("mask file not found", p) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"not a readable PNG ({exc})", p) from exc
    if arr.ndim != 2:
        raise InputError(f"mask must be single-channel, got shape {arr.shape}", p)
    if mode == "L":
        counts = np.bincount(arr.ravel(), minlength=256)
        if counts[255] and counts[1:255].sum() == 0:
            return (arr == 255).view(np.uint8)
    return arr
