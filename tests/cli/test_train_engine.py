"""End to end: `vidseg train-engine` trains, adds the refiner stage and exports an engine that tracks."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from vidseg.cli.main import main  # noqa: E402
from vidseg.synthetic import motion_scene  # noqa: E402
from vidseg.vos.learned import LearnedConfig, LearnedTracker  # noqa: E402

from ..train.test_engine_train import write_davis  # noqa: E402


@pytest.mark.parametrize("refine", [2, 0])
def test_train_engine_exports_an_engine_with_or_without_a_refiner(tmp_path, refine):
    data = write_davis(tmp_path / "data", kinds=("translate",), n=5)
    run = tmp_path / "run"
    rc = main(["train-engine", str(data), "-o", str(run), "--iterations", "1", "--batch", "2",
               "--refine-iterations", str(refine), "-q"])
    assert rc == 0
    card = json.loads((run / "engine" / "card.json").read_text())
    assert ("refine.onnx" in card["files"]) == bool(refine)
    assert f"--refine-iterations {refine}" in card["command"]
    tracker = LearnedTracker(LearnedConfig(weights=str(run / "engine"), threads=1))
    assert (tracker._graphs.refine is not None) == bool(refine)
    img, gt = motion_scene("translate", 2, width=128, height=96).render(0)
    tracker.step(img, gt)
    assert tracker.step(img).shape == gt.shape and np.isin(tracker.step(img), [0, 1]).all()
