"""The engine's second stage: a mask refiner learned from the engine's own predictions."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vidseg.errors import InputError  # noqa: E402
from vidseg.train.engine_export import export_engine  # noqa: E402
from vidseg.train.engine_net import EngineNet, MaskRefiner  # noqa: E402
from vidseg.train.engine_refine import collect_samples, edge_band, load_refiner, train_refiner  # noqa: E402
from vidseg.vos.learned.tracker import edge_band as tracker_edge_band  # noqa: E402

from .test_engine_train import write_davis  # noqa: E402


def test_samples_come_from_every_predicted_frame_both_ways_and_training_writes_the_refiner(tmp_path):
    data = write_davis(tmp_path / "data", kinds=("translate", "cross"), n=5)
    torch.manual_seed(0)
    export_engine(EngineNet(), tmp_path / "engine", {"name": "test"})
    samples = collect_samples(tmp_path / "engine", [str(data)], holdout=["cross"], threads=1)
    # one sequence of 5 frames, forward and backward: 4 predicted frames each way
    assert len(samples.images) == 8
    n, h, w, _ = samples.images.shape
    assert samples.logits4.shape == (n, h // 4, w // 4) and samples.f4.shape == (n, 24, h // 4, w // 4)
    assert samples.targets.shape == (n, h, w) and samples.targets.max() == 255
    records = list(train_refiner(samples, tmp_path, iterations=2, batch=2))
    assert [r["iteration"] for r in records] == [2] and records[0]["loss"] > 0
    assert (tmp_path / "refine_log.jsonl").is_file()
    assert isinstance(load_refiner(tmp_path / "refiner.pt"), MaskRefiner)


def test_an_untrained_refiner_is_bilinear_upsampling():
    logits4 = torch.randn(1, 1, 12, 16)
    out = MaskRefiner()(torch.zeros(1, 3, 48, 64), logits4, torch.randn(1, 24, 12, 16))
    twice = torch.nn.functional.interpolate(
        torch.nn.functional.interpolate(logits4, scale_factor=2.0, mode="bilinear", align_corners=False),
        scale_factor=2.0, mode="bilinear", align_corners=False)
    assert torch.allclose(out, twice)


@pytest.mark.parametrize("radius", [0, 1, 3])
def test_the_training_band_is_the_trackers_band(radius):
    rng = np.random.default_rng(radius)
    logits = np.full((40, 50), -1.0, np.float32)
    logits[8:30, 10:41] = 1.0
    logits[rng.random(logits.shape) < 0.05] *= -1  # specks and holes
    want = tracker_edge_band(logits, radius)
    got = edge_band(torch.from_numpy(logits)[None, None], radius)[0, 0].numpy() > 0
    assert np.array_equal(got, want)


def test_the_band_is_the_pixels_near_the_edge():
    logits = np.full((40, 50), -1.0, np.float32)
    logits[10:30, 10:40] = 1.0
    band = tracker_edge_band(logits, 2)
    assert band[10:30, 10:40].sum() == 20 * 30 - 16 * 26  # the rim inside, 2 pixels wide
    assert band[8:32, 8:42].sum() - band[10:30, 10:40].sum() == 24 * 34 - 20 * 30  # and 2 outside
    assert band.sum() == band[8:32, 8:42].sum()


@pytest.mark.parametrize("content", [b"not torch", None])
def test_bad_refiner_weights_are_named(tmp_path, content):
    path = tmp_path / "refiner.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match="refiner.pt"):
        load_refiner(path)
    torch.save({"a": torch.zeros(1)}, path)
    with pytest.raises(InputError, match="not the weights of a vidseg mask refiner"):
        load_refiner(path)
