"""DAVIS evaluation of a results folder against ground truth, as davis2017-evaluation defines it.

Differences from the official code, all deliberate: errors are exceptions naming the file (no
``sys.exit``), nothing is cached between runs, a result that never shows an object scores that
object as empty (the official code stops), decay bins are right past 256 frames, and in the
unsupervised task objects are named by their ground-truth id.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from vidseg.errors import InputError
from vidseg.eval.dataset import VOID, SequenceDirs, list_masks, pair_sequences, read_labels
from vidseg.eval.metrics import BOUND_TH, f_measure, jaccard
from vidseg.eval.stats import Statistics, statistics
from vidseg.eval.temporal import flicker

TASKS = ("semi-supervised", "unsupervised")
MAX_PROPOSALS = 20
MEASURES = ("J&F", "J", "J-recall", "J-decay", "F", "F-recall", "F-decay")


@dataclass
class ObjectScores:
    """Per-frame J and F of one object of one sequence, and its flicker."""

    sequence: str
    obj_id: int
    frames: list[str]
    j: np.ndarray
    f: np.ndarray
    flicker: float = float("nan")

    @property
    def key(self) -> str:
        return f"{self.sequence}/{self.obj_id}"

    @property
    def j_stats(self) -> Statistics:
        return statistics(self.j)

    @property
    def f_stats(self) -> Statistics:
        return statistics(self.f)

    def as_dict(self) -> dict[str, float]:
        j, f = self.j_stats, self.f_stats
        return {"J": j.mean, "J-recall": j.recall, "J-decay": j.decay,
                "F": f.mean, "F-recall": f.recall, "F-decay": f.decay}


@dataclass
class EvalResult:
    """Scores of every object of every sequence; ``mean()`` gives the dataset figures."""

    task: str
    objects: list[ObjectScores]
    consistency: dict[str, float] = field(default_factory=dict)  # "<seq>/<id>" -> mean IoU

    def mean(self) -> dict[str, float]:
        """Dataset figures: each object of each sequence counts once."""
        rows = [o.as_dict() for o in self.objects]
        if not rows:
            return {m: float("nan") for m in MEASURES}
        out = {k: float(np.mean([r[k] for r in rows])) for k in MEASURES if k != "J&F"}
        return {"J&F": (out["J"] + out["F"]) / 2, **out}

    def sequences(self) -> dict[str, dict[str, float]]:
        """Per sequence: J, F and J&F means over its objects, and its mean flicker."""
        out: dict[str, dict[str, float]] = {}
        for name in dict.fromkeys(o.sequence for o in self.objects):
            objs = [o for o in self.objects if o.sequence == name]
            j = float(np.mean([o.j_stats.mean for o in objs]))
            f = float(np.mean([o.f_stats.mean for o in objs]))
            fl = [o.flicker for o in objs if not np.isnan(o.flicker)]
            out[name] = {"J": j, "F": f, "J&F": (j + f) / 2,
                         "flicker": float(np.mean(fl)) if fl else float("nan")}
        return out

    def to_dict(self) -> dict[str, object]:
        """The JSON document: ``mean``, ``objects`` and ``temporal`` (flicker, consistency)."""
        temporal: dict[str, dict[str, float]] = {o.key: {"flicker": o.flicker} for o in self.objects}
        for k, v in self.consistency.items():
            temporal.setdefault(k, {})["consistency"] = v
        return {"task": self.task, "mean": self.mean(),
                "objects": {o.key: o.as_dict() for o in self.objects}, "temporal": temporal}


def evaluate(
    gt: str | Path,
    pred: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    task: str = "semi-supervised",
    workers: int | None = None,
    bound_th: float = BOUND_TH,
    progress: Callable[[str], None] | None = None,
) -> EvalResult:
    """Score the results folder ``pred`` against the annotations ``gt`` (see :mod:`.dataset`).

    ``workers`` processes score sequences in parallel (default: up to 2). ``progress`` is called
    with each sequence's name when it is done. Raises :class:`InputError` on bad input.
    """
    objects: list[ObjectScores] = []
    for name, objs in iter_evaluate(gt, pred, sequences=sequences, task=task, workers=workers,
                                    bound_th=bound_th):
        objects.extend(objs)
        if progress is not None:
            progress(name)
    return EvalResult(task, objects)


def iter_evaluate(
    gt: str | Path,
    pred: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    task: str = "semi-supervised",
    workers: int | None = None,
    bound_th: float = BOUND_TH,
) -> Iterator[tuple[str, list[ObjectScores]]]:
    """Yield ``(sequence, its object scores)`` in sequence order as the sequences are scored."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    pairs = pair_sequences(gt, pred, sequences=sequences, task=task)
    n = max(1, min(2 if workers is None else workers, len(pairs), os.cpu_count() or 1))
    jobs = [(p, task, bound_th) for p in pairs]
    if n == 1:
        for job in jobs:
            yield job[0].name, _score_job(job)
        return
    done: dict[int, list[ObjectScores]] = {}
    nxt = 0
    with multiprocessing.get_context().Pool(n) as pool:
        for i, objs in pool.imap_unordered(_indexed_job, list(enumerate(jobs))):
            done[i] = objs
            while nxt in done:
                yield pairs[nxt].name, done.pop(nxt)
                nxt += 1


def _indexed_job(item: tuple[int, tuple[SequenceDirs, str, float]]) -> tuple[int, list[ObjectScores]]:
    return item[0], _score_job(item[1])


def _score_job(job: tuple[SequenceDirs, str, float]) -> list[ObjectScores]:
    dirs, task, bound_th = job
    return evaluate_sequence(dirs, task=task, bound_th=bound_th)


def evaluate_sequence(
    dirs: SequenceDirs, *, task: str = "semi-supervised", bound_th: float = BOUND_TH
) -> list[ObjectScores]:
    """Score one sequence: per-object, per-frame J and F, and flicker."""
    if dirs.gt is None:
        raise InputError("ground truth is needed to score a sequence", dirs.pred)
    gt_files = list_masks(dirs.gt)
    semi = task == "semi-supervised"
    if semi and len(gt_files) < 3:
        raise InputError(f"sequence {dirs.name!r} has {len(gt_files)} annotated frame(s); "
                         "semi-supervised scoring needs 3 (the first and last are not scored)", dirs.gt)
    if not gt_files:
        raise InputError(f"sequence {dirs.name!r} has no annotated frame", dirs.gt)
    first = read_labels(gt_files[0])
    n_obj = int(np.max(np.where(first == VOID, 0, first), initial=0))
    if n_obj == 0:
        raise InputError("the first ground-truth frame has no object (ids 1..N define the objects)",
                         gt_files[0])
    scored = gt_files[1:-1] if semi else gt_files
    gts, preds, voids = [], [], []
    for gf in scored:
        g = read_labels(gf)
        if g.shape != first.shape:
            raise InputError(f"size {g.shape[1]}x{g.shape[0]} differs from the sequence's first "
                             f"frame ({first.shape[1]}x{first.shape[0]})", gf)
        pf = dirs.pred / (gf.stem + ".png")
        if not pf.is_file():
            raise InputError(f"result frame missing (ground truth {gf.name} is scored)", pf)
        r = read_labels(pf)
        if r.shape != g.shape:
            raise InputError(f"size {r.shape[1]}x{r.shape[0]} differs from the ground truth's "
                             f"{g.shape[1]}x{g.shape[0]}", pf)
        top = int(r.max(initial=0))
        if semi and top > n_obj:
            raise InputError(f"object id {top} is above the {n_obj} object(s) of the ground truth", pf)
        if not semi and top > MAX_PROPOSALS:
            raise InputError(f"object id {top} is above the {MAX_PROPOSALS} proposals allowed", pf)
        void = g == VOID
        if semi:
            g = np.where(void, 0, g).astype(np.uint8)  # semi-supervised: 255 is background
        gts.append(g)
        preds.append(r)
        voids.append(void if not semi and void.any() else None)
    stems = [f.stem for f in scored]
    if semi:
        return [_object_scores(dirs.name, k, k, stems, gts, preds, voids, bound_th)
                for k in range(1, n_obj + 1)]
    return _unsupervised(dirs.name, n_obj, stems, gts, preds, voids, bound_th)


def _object_scores(seq: str, obj: int, prop: int, stems: list[str], gts: list[np.ndarray],
                   preds: list[np.ndarray], voids: list[np.ndarray | None],
                   bound_th: float) -> ObjectScores:
    gm = [g == obj for g in gts]
    pm = [p == prop for p in preds]
    j = np.array([jaccard(g, p, v) for g, p, v in zip(gm, pm, voids, strict=True)])
    f = np.array([f_measure(g, p, v, bound_th) for g, p, v in zip(gm, pm, voids, strict=True)])
    return ObjectScores(seq, obj, stems, j, f, flicker(gm, pm))


def _unsupervised(seq: str, n_obj: int, stems: list[str], gts: list[np.ndarray],
                  preds: list[np.ndarray], voids: list[np.ndarray | None],
                  bound_th: float) -> list[ObjectScores]:
    n_prop = max(n_obj, max(int(p.max(initial=0)) for p in preds))
    score = np.zeros((n_prop, n_obj))
    cache: dict[tuple[int, int], ObjectScores] = {}
    for p in range(n_prop):
        for k in range(n_obj):
            s = _object_scores(seq, k + 1, p + 1, stems, gts, preds, voids, bound_th)
            cache[p, k] = s
            score[p, k] = (np.mean(s.j) + np.mean(s.f)) / 2
    rows, cols = linear_sum_assignment(-score)
    matched = sorted(zip(cols.tolist(), rows.tolist(), strict=True))
    return [cache[p, k] for k, p in matched]
