"""``evaluate``: the protocol (frames, objects, dataset figures), error cases, unsupervised
matching, and agreement with the literal oracle on synthetic and (when present) DAVIS data."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.eval.davis_reference import ref_evaluate_semi
from tests.eval.eval_helpers import DAVIS_DEV, scene_labels, shifted, write_seq
from vidseg.errors import InputError
from vidseg.eval.davis import evaluate


def _close(a: dict[str, float], b: dict[str, float]) -> None:
    assert set(a) == set(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-9), k


def test_perfect_result_scores_one(tmp_path: Path) -> None:
    labs = scene_labels()
    write_seq(tmp_path / "gt" / "s", labs)
    write_seq(tmp_path / "pred" / "s", labs)
    r = evaluate(tmp_path / "gt", tmp_path / "pred")
    assert [o.key for o in r.objects] == ["s/1", "s/2"]
    assert r.mean() == {"J&F": 1.0, "J": 1.0, "J-recall": 1.0, "J-decay": 0.0,
                        "F": 1.0, "F-recall": 1.0, "F-decay": 0.0}
    assert all(len(o.frames) == 6 for o in r.objects)  # 8 frames minus the first and last


def test_matches_oracle_on_shifted_multi_object(tmp_path: Path) -> None:
    for i, (dx, dy) in enumerate([(2, 0), (-5, 3), (9, -1)]):
        labs = scene_labels(n=9, seed=i)
        write_seq(tmp_path / "gt" / f"s{i}", labs)
        pred = shifted(labs, dx, dy)
        pred[4] = np.where(pred[4] == 2, 0, pred[4]).astype(np.uint8)  # object 2 lost once
        write_seq(tmp_path / "pred" / f"s{i}", pred)
    r = evaluate(tmp_path / "gt", tmp_path / "pred", workers=1)
    ref = ref_evaluate_semi(tmp_path / "gt", tmp_path / "pred", ["s0", "s1", "s2"])
    _close(r.mean(), ref["mean"])  # type: ignore[arg-type]
    for o in r.objects:
        assert (o.j_stats.mean, o.f_stats.mean) == pytest.approx(ref["objects"][o.key], abs=1e-12)  # type: ignore[index]
    r2 = evaluate(tmp_path / "gt", tmp_path / "pred", workers=2)
    assert r2.to_dict() == r.to_dict()


def test_first_and_last_frames_not_scored(tmp_path: Path) -> None:
    labs = scene_labels(n=5)
    write_seq(tmp_path / "gt" / "s", labs)
    pred = [np.zeros_like(labs[0])] + labs[1:4] + [np.full_like(labs[0], 2)]
    write_seq(tmp_path / "pred" / "s", pred)
    assert evaluate(tmp_path / "gt", tmp_path / "pred").mean()["J&F"] == 1.0
    (tmp_path / "pred" / "s" / "00000.png").unlink()
    (tmp_path / "pred" / "s" / "00004.png").unlink()
    assert evaluate(tmp_path / "gt", tmp_path / "pred").mean()["J"] == 1.0


def test_each_object_counts_once(tmp_path: Path) -> None:
    z = np.zeros((6, 6), np.uint8)
    two = z.copy()
    two[0:2, 0:2] = 1
    two[3:5, 3:5] = 2
    one = z.copy()
    one[0:2, 0:2] = 1
    write_seq(tmp_path / "gt" / "a", [two] * 3)
    write_seq(tmp_path / "gt" / "b", [one] * 3)
    write_seq(tmp_path / "pred" / "a", [one] * 3)  # object 2 never predicted: J = 0 (no crash)
    write_seq(tmp_path / "pred" / "b", [one] * 3)
    r = evaluate(tmp_path / "gt", tmp_path / "pred")
    assert [o.key for o in r.objects] == ["a/1", "a/2", "b/1"]
    assert r.mean()["J"] == pytest.approx((1 + 0 + 1) / 3)  # not the mean of sequences (0.75)
    assert r.sequences()["a"]["J"] == 0.5


def test_davis2016_binary_and_2017_void(tmp_path: Path) -> None:
    m = np.zeros((8, 8), np.uint8)
    m[2:6, 2:6] = 255
    write_seq(tmp_path / "gt16" / "s", [m] * 3, grey=True)  # DAVIS-2016: 255 is object 1
    write_seq(tmp_path / "p16" / "s", [(m == 255).astype(np.uint8)] * 3)
    r = evaluate(tmp_path / "gt16", tmp_path / "p16")
    assert [o.key for o in r.objects] == ["s/1"] and r.mean()["J"] == 1.0
    g = np.zeros((8, 8), np.uint8)
    g[2:4, 2:4] = 1
    g[5:7, 5:7] = 255  # DAVIS-2017: void, blanked as background in the semi-supervised task
    write_seq(tmp_path / "gt17" / "s", [g] * 3)
    p = np.where(g == 255, 0, g).astype(np.uint8)
    write_seq(tmp_path / "p17" / "s", [p] * 3)
    r = evaluate(tmp_path / "gt17", tmp_path / "p17")
    assert [o.key for o in r.objects] == ["s/1"] and r.mean()["J"] == 1.0


def test_errors_name_the_file(tmp_path: Path) -> None:
    labs = scene_labels(n=4)
    write_seq(tmp_path / "gt" / "s", labs)
    pred = write_seq(tmp_path / "pred" / "s", labs)
    (pred / "00002.png").unlink()
    with pytest.raises(InputError, match=r"00002\.png: result frame missing"):
        evaluate(tmp_path / "gt", tmp_path / "pred")
    bad = labs[2].copy()
    bad[0, 0] = 3
    write_seq(pred, [bad], stems=["00002"])
    with pytest.raises(InputError, match=r"00002\.png: object id 3 is above the 2 object"):
        evaluate(tmp_path / "gt", tmp_path / "pred")
    write_seq(pred, [labs[2][:, :-1]], stems=["00002"])
    with pytest.raises(InputError, match=r"00002\.png: size 95x64 differs"):
        evaluate(tmp_path / "gt", tmp_path / "pred")
    write_seq(tmp_path / "gt2" / "s", labs[:2])
    with pytest.raises(InputError, match="needs 3"):
        evaluate(tmp_path / "gt2", tmp_path / "pred")
    write_seq(tmp_path / "gt3" / "s", [np.zeros_like(labs[0])] * 3)
    with pytest.raises(InputError, match="first ground-truth frame has no object"):
        evaluate(tmp_path / "gt3", tmp_path / "pred")
    with pytest.raises(InputError, match="unknown task"):
        evaluate(tmp_path / "gt", tmp_path / "pred", task="zero-shot")


def test_unsupervised_matching_and_void(tmp_path: Path) -> None:
    labs = scene_labels(n=5)
    void = np.zeros_like(labs[0])
    void[:4, :] = 255
    gts = [np.where((lab == 0) & (void == 255), 255, lab).astype(np.uint8) for lab in labs]
    write_seq(tmp_path / "gt" / "s", gts)
    # proposals: ids swapped (2 <-> 1), an extra proposal 3 living only in the void band
    preds = []
    for lab in labs:
        p = np.select([lab == 1, lab == 2], [2, 1], 0).astype(np.uint8)
        p[:4, :][lab[:4, :] == 0] = 3
        preds.append(p)
    write_seq(tmp_path / "pred" / "s", preds)
    r = evaluate(tmp_path / "gt", tmp_path / "pred", task="unsupervised")
    assert [o.key for o in r.objects] == ["s/1", "s/2"]
    assert all(len(o.frames) == 5 for o in r.objects)  # every frame scored
    assert r.mean()["J&F"] == 1.0
    # the semi-supervised task allows no id beyond the ground truth's objects
    with pytest.raises(InputError, match="object id 3"):
        evaluate(tmp_path / "gt", tmp_path / "pred", task="semi-supervised")


def test_unsupervised_too_many_proposals(tmp_path: Path) -> None:
    labs = scene_labels(n=3)
    write_seq(tmp_path / "gt" / "s", labs)
    p = labs[1].copy()
    p[0, 0] = 21
    write_seq(tmp_path / "pred" / "s", [labs[0], p, labs[2]])
    with pytest.raises(InputError, match=r"00001\.png: object id 21 is above the 20 proposals"):
        evaluate(tmp_path / "gt", tmp_path / "pred", task="unsupervised")


def test_flicker_in_results(tmp_path: Path) -> None:
    labs = scene_labels(n=8)
    write_seq(tmp_path / "gt" / "s", labs)
    write_seq(tmp_path / "pred" / "s", labs)
    assert all(o.flicker == 0.0 for o in evaluate(tmp_path / "gt", tmp_path / "pred").objects)
    noisy = [lab.copy() for lab in labs]
    for t in range(1, 7, 2):
        noisy[t] = np.where(noisy[t] == 1, 0, noisy[t]).astype(np.uint8)  # object 1 blinks
    write_seq(tmp_path / "pred" / "s", noisy)
    objs = evaluate(tmp_path / "gt", tmp_path / "pred").objects
    assert objs[0].flicker > 0.3 and objs[1].flicker == 0.0


@pytest.mark.skipif(not DAVIS_DEV.is_dir(), reason="../shared/data/davis2016-dev is absent")
def test_davis_dev_against_oracle(tmp_path: Path) -> None:
    import cv2

    ann = DAVIS_DEV / "Annotations" / "480p"
    seqs = ["blackswan", "car-shadow"]
    assert evaluate(DAVIS_DEV, ann, sequences=seqs).mean()["J&F"] == 1.0
    kernel = np.ones((7, 7), np.uint8)
    for s in seqs:  # the first 10 frames (the slow oracle), ground truth and perturbed copies
        (tmp_path / "gt" / s).mkdir(parents=True)
        (tmp_path / "pred" / s).mkdir(parents=True)
        for f in sorted((ann / s).glob("*.png"))[:10]:
            shutil.copy(f, tmp_path / "gt" / s / f.name)
            m = (cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8)
            m = cv2.erode(np.roll(m, (3, -6), (0, 1)), kernel) if s == "blackswan" else np.roll(m, 12, 1)
            cv2.imwrite(str(tmp_path / "pred" / s / f.name), m * 255)
    r = evaluate(tmp_path / "gt", tmp_path / "pred", sequences=seqs)
    ref = ref_evaluate_semi(tmp_path / "gt", tmp_path / "pred", seqs)
    _close(r.mean(), ref["mean"])  # type: ignore[arg-type]
    assert 0.3 < r.mean()["J"] < 0.99 and not math.isnan(r.mean()["F-decay"])


def test_error_in_a_worker_process(tmp_path: Path) -> None:
    labs = scene_labels(n=4)
    for s in ("a", "b"):
        write_seq(tmp_path / "gt" / s, labs)
        write_seq(tmp_path / "pred" / s, labs)
    (tmp_path / "pred" / "b" / "00001.png").unlink()
    with pytest.raises(InputError, match=r"b/00001\.png: result frame missing"):
        evaluate(tmp_path / "gt", tmp_path / "pred", workers=2)
