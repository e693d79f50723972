"""A tiny training run of the learned engine on synthetic DAVIS-layout clips: it runs, logs,
checkpoints, resumes and exports."""

from __future__ import annotations

import json

import cv2
import pytest

torch = pytest.importorskip("torch")

from vidseg.errors import InputError  # noqa: E402
from vidseg.synthetic import motion_scene  # noqa: E402
from vidseg.train.engine_train import EngineTrainConfig, load_checkpoint, train_engine  # noqa: E402


def write_davis(root, kinds=("translate", "cross"), n=6):
    for kind in kinds:
        sc = motion_scene(kind, n, width=128, height=96)
        jpg = root / "JPEGImages" / "240p" / kind
        ann = root / "Annotations" / "240p" / kind
        jpg.mkdir(parents=True)
        ann.mkdir(parents=True)
        for t in range(n):
            img, gt = sc.render(t)
            cv2.imwrite(str(jpg / f"{t:05d}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(ann / f"{t:05d}.png"), gt)
    return root


def test_two_step_training_runs_logs_and_resumes(tmp_path):
    data = write_davis(tmp_path / "data")
    cfg = EngineTrainConfig(davis=[str(data)], val=str(data), holdout=["cross"], iterations=2,
                            batch=2, val_every=1, max_gap_start=1, max_gap_end=2)
    run = tmp_path / "run"
    recs = list(train_engine(cfg, run))
    assert [r["iteration"] for r in recs] == [1, 2]
    assert all("val_iou" in r and "holdout_iou" in r for r in recs)
    assert set(recs[-1]["holdout"]) == {"cross"}
    assert (run / "engine.pt").is_file() and (run / "checkpoint.pt").is_file()
    assert len((run / "log.jsonl").read_text().splitlines()) == 2
    assert load_checkpoint(run / "checkpoint.pt")["iteration"] == 2
    more = EngineTrainConfig(**{**json.loads((run / "config.json").read_text()), "iterations": 3})
    recs = list(train_engine(more, run, resume=True))
    assert [r["iteration"] for r in recs] == [3]  # continued, not restarted
    assert len((run / "log.jsonl").read_text().splitlines()) == 3


def test_corrupt_checkpoint_is_named(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="checkpoint"):
        load_checkpoint(bad)
