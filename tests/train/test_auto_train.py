"""A tiny training run of the primary-object head on synthetic DAVIS-layout clips: it runs,
scores per frame, exports an ONNX graph the tracker's head loads, and a damaged graph is refused."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vidseg.errors import InputError  # noqa: E402
from vidseg.models.backbone import Backbone  # noqa: E402
from vidseg.train.auto_net import SaliencyHead  # noqa: E402
from vidseg.train.auto_train import AutoTrainConfig, main_object_targets, train_auto  # noqa: E402
from vidseg.train.engine_data import FeatureBank  # noqa: E402
from vidseg.train.head_export import export_head  # noqa: E402
from vidseg.vos.auto.head import MainObjectHead  # noqa: E402

from .test_engine_train import write_davis  # noqa: E402


def test_two_step_training_scores_and_exports(tmp_path):
    data = write_davis(tmp_path / "data")
    cfg = AutoTrainConfig(davis=[str(data)], val=str(data), holdout=["cross"], iterations=2, batch=2,
                          val_every=1)
    run = tmp_path / "run"
    recs = list(train_auto(cfg, run))
    assert [r["iteration"] for r in recs] == [1, 2]
    assert all("val_iou" in r and set(r["holdout"]) == {"cross"} for r in recs)
    assert (run / "head.pt").is_file() and len((run / "log.jsonl").read_text().splitlines()) == 2
    net = SaliencyHead()
    net.load_state_dict(torch.load(run / "head.pt"))
    card = export_head(net, run / "head", {"name": "test"})
    assert set(card["files"]) == {"head.onnx"} and card["parameters"] > 100_000
    head = MainObjectHead(run / "head", threads=1)
    image = np.zeros((96, 128, 3), np.uint8)
    feats = Backbone(threads=1)(image)
    prob = head(feats)
    assert prob.shape == (1, 24, 32) and 0.0 <= prob.min() <= prob.max() <= 1.0
    with torch.no_grad():  # the ONNX graph gives the torch module's numbers
        ref = torch.sigmoid(net.eval()(*(torch.from_numpy(getattr(feats, n)) for n in ("f4", "f8", "f16"))))
    assert np.allclose(prob, ref[:, 0].numpy(), atol=1e-4)
    (run / "head" / "head.onnx").write_bytes(b"damaged")
    with pytest.raises(InputError, match="SHA-256"):
        MainObjectHead(run / "head")


def test_main_object_is_every_labelled_pixel_of_a_video_and_the_largest_coco_instance():
    labels = np.zeros((5, 8, 8), np.uint8)
    labels[0:2, :2, :2] = 1  # a video clip: object 1
    labels[3, :2, :2], labels[3, 4:, 4:] = 1, 2  # a COCO clip: instance 2 is the larger
    bank = FeatureBank(np.zeros(1), np.zeros(1), np.zeros(1), labels, [("seq", 0, 2), ("coco-x-0", 3, 5)])
    rows, ids = main_object_targets(bank)
    assert rows.tolist() == [0, 1, 3] and ids.tolist() == [-1, -1, 2]
