"""The exported ONNX graphs compute what the torch modules compute."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from vidseg.train.engine_export import export_engine  # noqa: E402
from vidseg.train.engine_net import EngineNet  # noqa: E402
from vidseg.vos.learned.weights import EngineGraphs  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = EngineNet().eval()
    for p in net.parameters():  # give biases a spread so every path matters
        p.data += 0.05 * torch.randn_like(p)
    folder = tmp_path_factory.mktemp("engine")
    card = export_engine(net, folder, {"name": "test"})
    return net, folder, card


@pytest.mark.parametrize("size", [(240, 432), (176, 320), (96, 128)])
def test_onnx_graphs_equal_torch(exported, size):
    net, folder, _ = exported
    graphs = EngineGraphs.load(folder, threads=1)
    h, w = size
    rng = np.random.default_rng(0)
    f4 = rng.standard_normal((2, 24, h // 4, w // 4)).astype(np.float32)
    f8 = rng.standard_normal((2, 40, h // 8, w // 8)).astype(np.float32)
    f16 = rng.standard_normal((2, 112, h // 16, w // 16)).astype(np.float32)
    m4 = rng.random((2, 1, h // 4, w // 4)).astype(np.float32)
    o4 = rng.random((2, 1, h // 4, w // 4)).astype(np.float32)
    readout = rng.standard_normal((2, 128, h // 16, w // 16)).astype(np.float32)
    t = torch.from_numpy
    with torch.no_grad():
        want = {
            "key": net.key(t(f16)).numpy(),
            "value": net.value(t(f4), t(f8), t(f16), t(m4), t(o4)).numpy(),
            "decoder": net.decoder(t(readout), t(f16), t(f8), t(f4), t(m4)).numpy(),
        }
    got = {
        "key": graphs.key.run(None, {"f16": f16})[0],
        "value": graphs.value.run(None, {"f4": f4, "f8": f8, "f16": f16, "mask4": m4, "others4": o4})[0],
        "decoder": graphs.decoder.run(None, {"readout": readout, "f16": f16, "f8": f8, "f4": f4,
                                             "prev4": m4})[0],
    }
    for name in want:
        assert got[name].shape == want[name].shape
        assert float(np.abs(got[name] - want[name]).max()) <= 1e-4, name


def test_card_lists_every_graph_with_its_hash(exported):
    _, folder, card = exported
    assert set(card["files"]) == {"key.onnx", "value.onnx", "decoder.onnx"}
    assert card["parameters"] > 100_000
