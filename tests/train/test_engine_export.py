"""The exported ONNX graphs compute what the torch modules compute."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from vidseg.train.engine_export import export_engine  # noqa: E402
from vidseg.train.engine_net import EngineNet, MaskRefiner  # noqa: E402
from vidseg.vos.learned.weights import EngineGraphs  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = EngineNet().eval()
    for p in net.parameters():  # give biases a spread so every path matters
        p.data += 0.05 * torch.randn_like(p)
    refiner = MaskRefiner().eval()
    for p in refiner.parameters():
        p.data += 0.05 * torch.randn_like(p)
    folder = tmp_path_factory.mktemp("engine")
    card = export_engine(net, folder, {"name": "test"}, refiner)
    return net, folder, card, refiner


@pytest.mark.parametrize("size", [(240, 432), (176, 320), (96, 128)])
def test_onnx_graphs_equal_torch(exported, size):
    net, folder, _, refiner = exported
    graphs = EngineGraphs.load(folder, threads=1)
    h, w = size
    rng = np.random.default_rng(0)
    f4 = rng.standard_normal((2, 24, h // 4, w // 4)).astype(np.float32)
    f8 = rng.standard_normal((2, 40, h // 8, w // 8)).astype(np.float32)
    f16 = rng.standard_normal((2, 112, h // 16, w // 16)).astype(np.float32)
    m4 = rng.random((2, 1, h // 4, w // 4)).astype(np.float32)
    o4 = rng.random((2, 1, h // 4, w // 4)).astype(np.float32)
    readout = rng.standard_normal((2, 128, h // 16, w // 16)).astype(np.float32)
    image = rng.uniform(-1, 1, (2, 3, h, w)).astype(np.float32)
    logits4 = (4 * rng.standard_normal((2, 1, h // 4, w // 4))).astype(np.float32)
    t = torch.from_numpy
    with torch.no_grad():
        want = {
            "key": net.key(t(f16)).numpy(),
            "value": net.value(t(f4), t(f8), t(f16), t(m4), t(o4)).numpy(),
            "decoder": net.decoder(t(readout), t(f16), t(f8), t(f4), t(m4)).numpy(),
            "refine": refiner(t(image), t(logits4), t(f4)).numpy(),
        }
    got = {
        "key": graphs.key.run(None, {"f16": f16})[0],
        "value": graphs.value.run(None, {"f4": f4, "f8": f8, "f16": f16, "mask4": m4, "others4": o4})[0],
        "decoder": graphs.decoder.run(None, {"readout": readout, "f16": f16, "f8": f8, "f4": f4,
                                             "prev4": m4})[0],
        "refine": graphs.refine.run(None, {"image": image, "logits4": logits4, "f4": f4})[0],
    }
    for name in want:
        assert got[name].shape == want[name].shape
        assert float(np.abs(got[name] - want[name]).max()) <= 1e-4, name


def test_card_lists_every_graph_with_its_hash(exported):
    _, folder, card, _ = exported
    assert set(card["files"]) == {"key.onnx", "value.onnx", "decoder.onnx", "refine.onnx"}
    assert card["parameters"] > 100_000


def test_an_engine_exported_without_a_refiner_loads_without_one(exported, tmp_path):
    net, folder, _, _ = exported
    (tmp_path / "refine.onnx").write_bytes(b"left from an earlier export")
    card = export_engine(net, tmp_path, {"name": "test"})
    assert "refine.onnx" not in card["files"] and not (tmp_path / "refine.onnx").exists()
    assert EngineGraphs.load(tmp_path, threads=1).refine is None
