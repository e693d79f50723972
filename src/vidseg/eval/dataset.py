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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vidseg.errors import InputError
from vidseg.io.natsort import natural_key, natural_sorted
from vidseg.io.palette import read_mask

__all__ = ["MASK_SUFFIX", "VOID", "SequenceDirs", "annotation_root", "find_sequences", "list_masks",
           "frame_mismatches", "natural_key", "pair_sequences", "read_labels"]

VOID = 255
MASK_SUFFIX = ".png"


@dataclass(frozen=True)
class SequenceDirs:
    """Where one sequence's ground truth and results live."""

    name: str
    gt: Path | None
    pred: Path


def list_masks(folder: Path) -> list[Path]:
    """The PNG files of a folder in natural order (hidden files, e.g. temporaries, left out)."""
    return natural_sorted([p for p in folder.iterdir()
                           if p.suffix.lower() == MASK_SUFFIX and not p.name.startswith(".") and p.is_file()])


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


def frame_mismatches(pairs: Sequence[SequenceDirs]) -> list[str]:
    """Warnings for sequences whose results do not look like the ground truth's sequence: frame
    names or counts that differ (``--gt dog --pred parkour`` scores two different videos)."""
    out = []
    for p in pairs:
        if p.gt is None:
            continue
        gt = [f.stem for f in list_masks(p.gt)]
        pred = [f.stem for f in list_masks(p.pred)]
        if gt == pred:
            continue
        missing = [s for s in gt if s not in set(pred)]
        extra = [s for s in pred if s not in set(gt)]
        what = [f"{len(pred)} result frame(s) for {len(gt)} annotated"]
        if missing:
            what.append(f"no result for {_few(missing)}")
        if extra:
            what.append(f"results without ground truth: {_few(extra)}")
        out.append(f"{p.pred}: sequence {p.name!r}: {'; '.join(what)}; are these the same video?")
    return out


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")


read_labels = read_mask
"""Read a mask PNG as an HxW uint8 id map (:func:`vidseg.io.palette.read_mask`: a non-palette
0/255 mask becomes 0/1, otherwise 255 is DAVIS-2017's void)."""
