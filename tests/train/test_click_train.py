"""The click head's training: the simulated user's clicks, the corrupted masks it corrects, a
tiny training run that scores, exports an ONNX graph giving the torch module's numbers, and a
damaged graph refused."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vidseg.errors import InputError  # noqa: E402
from vidseg.train.click_data import ClickSampler, corrupted  # noqa: E402
from vidseg.train.click_net import MAPS, ClickHead  # noqa: E402
from vidseg.train.click_train import train_clicks  # noqa: E402
from vidseg.train.engine_data import FeatureBank  # noqa: E402
from vidseg.train.head_export import export_head  # noqa: E402
from vidseg.train.head_train import HeadTrainConfig  # noqa: E402
from vidseg.vos.click_head import ClickModel, input_maps  # noqa: E402

from ..eval.test_simulated_user import square_mask  # noqa: E402
from .test_engine_train import write_davis  # noqa: E402


def test_corrupted_masks_differ_from_the_truth_but_overlap_it():
    gt = square_mask()
    rng = np.random.default_rng(1)
    outs = [corrupted(gt, rng, others=square_mask(y0=0, y1=5, x0=0, x1=10)) for _ in range(30)]
    assert all(o.shape == gt.shape and o.dtype == np.float32 and 0 <= o.min() <= o.max() <= 1 for o in outs)
    assert sum((o > 0.5).sum() != gt.sum() or ((o > 0.5) != gt).any() for o in outs) >= 25


def test_sampler_batches_have_the_click_in_the_maps_and_the_object_as_target():
    labels = np.zeros((4, 32, 48), np.uint8)
    labels[:, 8:24, 10:30] = 1
    bank = FeatureBank(np.zeros((4, 24, 8, 12), np.float16), np.zeros((4, 40, 4, 6), np.float16),
                       np.zeros((4, 112, 2, 3), np.float16), labels, [("seq", 0, 4)])
    batch = ClickSampler(bank, np.random.default_rng(0), coco_fraction=0.0).batch(6)
    assert batch["maps4"].shape == (6, MAPS, 8, 12) and batch["target"].shape == (6, 1, 32, 48)
    assert (batch["target"][:, 0] == labels[0]).all()
    assert (batch["maps4"][:, 1:].reshape(6, -1).max(1) == 1).all()  # every example has a click


def test_input_maps_put_a_click_where_the_frame_pixel_is():
    maps = input_maps((60, 108), (480, 854), [(400.0, 240.0, True), (40.0, 20.0, False)])
    assert maps.shape == (3, 60, 108) and maps[0].max() == 0
    ys, xs = np.nonzero(maps[1])
    assert abs(xs.mean() - 400 * 108 / 854) < 0.6 and abs(ys.mean() - 30) < 0.6
    ys, xs = np.nonzero(maps[2])
    assert abs(xs.mean() - 40 * 108 / 854) < 1.0 and abs(ys.mean() - 20 * 60 / 480) < 0.6


def test_two_step_training_scores_and_exports(tmp_path):
    data = write_davis(tmp_path / "data")
    cfg = HeadTrainConfig(davis=[str(data)], val=str(data), holdout=["cross"], iterations=2, batch=2, val_every=1)
    run = tmp_path / "run"
    recs = list(train_clicks(cfg, run))
    assert [r["iteration"] for r in recs] == [1, 2]
    assert all("val_iou" in r and set(r["holdout"]) == {"cross"} for r in recs)
    net = ClickHead()
    net.load_state_dict(torch.load(run / "click.pt"))
    card = export_head(net, run / "click", {"name": "test"}, "click", MAPS)
    assert set(card["files"]) == {"click.onnx"} and card["parameters"] > 100_000
    model = ClickModel(run / "click", threads=1)
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    prev = np.zeros((96, 128), bool)
    prev[20:60, 30:90] = True
    prob = model.probability(0, image, [(60.0, 40.0, True), (10.0, 10.0, False)], prev)
    assert prob.shape == (96, 128) and 0.0 <= prob.min() <= prob.max() <= 1.0
    feats = model.features(0, image)
    maps = input_maps(feats.f4.shape[2:], (96, 128), [(60.0, 40.0, True), (10.0, 10.0, False)], prev)[None]
    with torch.no_grad():  # the ONNX graph gives the torch module's numbers
        ref = net.eval()(*(torch.from_numpy(a) for a in (feats.f4, feats.f8, feats.f16, maps)))
    got = model._session.run(None, {"f4": feats.f4, "f8": feats.f8, "f16": feats.f16, "maps4": maps})[0]
    assert np.allclose(got, ref.numpy(), atol=1e-4)
    (run / "click" / "click.onnx").write_bytes(b"damaged")
    with pytest.raises(InputError, match="SHA-256"):
        ClickModel(run / "click")


def test_the_command_trains_and_exports_with_a_card(tmp_path):
    import json

    from vidseg.cli.main import main

    data = write_davis(tmp_path / "data")
    run = tmp_path / "run"
    rc = main(["train-clicks", str(data), "--val", str(data), "--holdout", "cross", "--iterations", "2",
               "--batch", "2", "--val-every", "1", "-o", str(run), "-q"])
    assert rc == 0 and (run / "click.pt").is_file()
    card = json.loads((run / "click" / "card.json").read_text())
    assert card["command"].startswith("vidseg train-clicks ") and "--holdout cross" in card["command"]
    assert set(card["files"]) == {"click.onnx"} and "val_iou" in next(v for k, v in card.items() if k.startswith("validation"))
    ClickModel(run / "click", threads=1)  # loads, SHA-256 checked
    assert main(["train-clicks", str(data), "-o", str(data / "JPEGImages"), "-q"]) != 0  # never into an input
