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


def test_a_second_stage_starts_from_weights_on_longer_clips(tmp_path):
    data = write_davis(tmp_path / "data", n=8)
    first = tmp_path / "first"
    list(train_engine(EngineTrainConfig(davis=[str(data)], iterations=1, batch=2, val_every=1,
                                        max_gap_start=1, max_gap_end=1), first))
    start = torch.load(first / "engine.pt")
    cfg = EngineTrainConfig(davis=[str(data)], iterations=1, batch=2, val_every=1, max_gap_start=1,
                            max_gap_end=1, clip_frames=5, init=str(first / "engine.pt"), lr=1e-12)
    second = tmp_path / "second"
    recs = list(train_engine(cfg, second))
    assert recs[-1]["iteration"] == 1 and recs[-1]["loss"] > 0
    after = torch.load(second / "engine.pt")
    # with a vanishing learning rate the second stage keeps the first stage's weights
    assert all(torch.allclose(start[k], after[k], atol=1e-6) for k in start)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_fails_before_the_features(tmp_path):
    data = write_davis(tmp_path / "data")
    cfg = EngineTrainConfig(davis=[str(data)], iterations=1, batch=2, device="cuda")
    with pytest.raises(InputError, match="--device cuda: torch sees no CUDA GPU"):
        list(train_engine(cfg, tmp_path / "run"))
    assert not (tmp_path / "run" / "cache").exists()  # no minutes of feature extraction first


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_step_on_the_gpu_saves_cpu_weights(tmp_path):
    data = write_davis(tmp_path / "data")
    cfg = EngineTrainConfig(davis=[str(data)], val=str(data), iterations=1, batch=2, val_every=1,
                            max_gap_start=1, max_gap_end=2, device="cuda")
    recs = list(train_engine(cfg, tmp_path / "run"))
    assert 0 <= recs[-1]["val_iou"] <= 1
    state = torch.load(tmp_path / "run" / "engine.pt")
    assert all(v.device.type == "cpu" for v in state.values())


@pytest.mark.parametrize("content", [b"garbage", None])
def test_bad_init_weights_are_named(tmp_path, content):
    data = write_davis(tmp_path / "data")
    bad = tmp_path / "engine.pt"
    if content is None:
        torch.save({"something": torch.zeros(1)}, bad)
    else:
        bad.write_bytes(content)
    cfg = EngineTrainConfig(davis=[str(data)], iterations=1, batch=2, init=str(bad))
    with pytest.raises(InputError, match="engine.pt"):
        list(train_engine(cfg, tmp_path / "run"))


def test_clip_sampler_draws_ordered_frames_and_plays_stills_back_and_forth():
    import numpy as np

    from vidseg.train.engine_data import ClipSampler, FeatureBank

    labels = np.ones((13, 8, 8), np.uint8)
    z = np.zeros((13, 1, 2, 2), np.float16)
    bank = FeatureBank(z, z, z, labels, [("video", 0, 10), ("coco-still-0", 10, 13)])
    sampler = ClipSampler(bank, np.random.default_rng(0), coco_fraction=0.5, frames=5)
    seen_still = seen_video = False
    for _ in range(40):
        rows = sampler.sample(max_gap=2).rows
        assert len(rows) == 5
        if rows[0] >= 10:
            assert list(rows) == [10, 11, 12, 11, 10]
            seen_still = True
        else:
            steps = np.diff(rows)
            assert (steps > 0).all() or (steps < 0).all()
            assert max(rows) < 10
            seen_video = True
    assert seen_still and seen_video
    batch = sampler.batch(3, max_gap=2)
    assert batch["f16"].shape == (3, 5, 1, 2, 2) and batch["mask"].shape == (3, 5, 8, 8)


def test_zoomed_views_keep_frames_and_masks_aligned():
    import numpy as np

    from vidseg.train.engine_data import Clip, zoomed

    labels = np.zeros((2, 48, 64), np.uint8)
    labels[:, 30:38, 40:48] = 1  # an 8x8 object whose mean position is (43.5, 33.5)
    images = np.zeros((2, 48, 64, 3), np.uint8)
    images[labels.astype(bool)] = 200
    closer = zoomed(Clip("v", images, labels), 2.0)
    assert closer.name == "v-zoom2" and closer.images.shape == images.shape
    assert (closer.labels == 1).sum(axis=(1, 2)).tolist() == [256, 256]  # 16x16: twice the side
    ys, xs = np.nonzero(closer.labels[0])
    assert abs(xs.mean() - 32) <= 1 and abs(ys.mean() - 24) <= 1  # the crop centred on the object
    inner = cv2.erode(closer.labels[0], np.ones((3, 3), np.uint8)).astype(bool)
    assert inner.sum() == 196 and (closer.images[0][inner] == 200).all()  # the frame moved with it
    farther = zoomed(Clip("v", images, labels), 0.5)
    assert (farther.labels == 1).sum(axis=(1, 2)).tolist() == [16, 16]  # 4x4 about the centre
    ys, xs = np.nonzero(farther.labels[0])
    assert (xs.min(), ys.min()) == (36, 27)  # (40 - 32) / 2 + 32, (30 - 24) / 2 + 24
    assert farther.images[0, :12].max() == 0  # the surround is black
