"""The ONNX graphs (run by ONNX Runtime) against a torch forward written here from the state dict.

Tolerance: max |ORT - reference| <= 1e-4 * max(1, max |reference|), the reference computed in
float64 with batch norm applied unfolded, so both the folding and float32 rounding are covered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.models.backbone import (
    FEATURE_CHANNELS,
    Backbone,
    backbone_weights_path,
    build_classifier_graph,
    build_feature_graph,
    read_legacy_state_dict,
)

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RTOL = 1e-4  # observed: max abs error about 4e-5 on features of magnitude 20..60, 5e-6 on logits
# written out independently of the library: (stride) of the 16 blocks and where the features are
STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
TAPS = {"f4": 2, "f8": 4, "f16": 10}


@pytest.fixture(scope="module")
def state() -> dict[str, np.ndarray]:
    return read_legacy_state_dict(backbone_weights_path())


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backbone]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDSEG_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield Backbone(threads=2)


def _reference(state: dict[str, np.ndarray], images: np.ndarray) -> dict[str, np.ndarray]:
    """EfficientNet-Lite0 in torch (float64): features after blocks 2, 4, 10 and the logits."""
    torch = pytest.importorskip("torch", reason="torch is not installed: no reference forward")
    F = torch.nn.functional
    sd = {k: torch.from_numpy(v).double() for k, v in state.items() if v.dtype == np.float32}

    def conv(x: Any, w: Any, stride: int = 1, groups: int = 1) -> Any:
        k = w.shape[-1]
        h, wd = x.shape[-2:]
        ph = max((math.ceil(h / stride) - 1) * stride + k - h, 0)
        pw = max((math.ceil(wd / stride) - 1) * stride + k - wd, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))  # TF "same": extra at the end
        return F.conv2d(x, w, stride=stride, groups=groups)

    def bn(x: Any, p: str) -> Any:
        return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"],
                            sd[p + ".bias"], training=False, eps=1e-3)

    def relu6(x: Any) -> Any:
        return x.clamp(0.0, 6.0)

    x = torch.from_numpy(images).permute(0, 3, 1, 2).double()
    x = (x - 127.0) / 128.0
    x = relu6(bn(conv(x, sd["_conv_stem.weight"], 2), "_bn0"))
    out = {}
    for i, s in enumerate(STRIDES):
        p = f"_blocks.{i}."
        y = x
        if p + "_expand_conv.weight" in sd:
            y = relu6(bn(conv(y, sd[p + "_expand_conv.weight"]), p + "_bn0"))
        dw = sd[p + "_depthwise_conv.weight"]
        y = relu6(bn(conv(y, dw, s, groups=dw.shape[0]), p + "_bn1"))
        y = bn(conv(y, sd[p + "_project_conv.weight"]), p + "_bn2")
        if s == 1 and y.shape == x.shape:
            y = y + x
        x = y
        for name, block in TAPS.items():
            if block == i:
                out[name] = x.numpy()
    x = relu6(bn(conv(x, sd["_conv_head.weight"]), "_bn1"))
    x = x.mean(dim=(2, 3))
    out["logits"] = (x @ sd["_fc.weight"].T + sd["_fc.bias"]).numpy()
    return out


def _close(got: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert got.shape == ref.shape, what
    assert got.dtype == np.float32, what
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(got.astype(np.float64) - ref).max())
    assert err <= RTOL * scale, f"{what}: max abs error {err:.3g} > {RTOL} * {scale:.3g}"


def _images(n: int, h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def classifier(state: dict[str, np.ndarray]) -> Any:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(build_classifier_graph(state).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(("n", "h", "w"), [(1, 240, 427), (2, 240, 320), (1, 37, 53)])
def test_features_and_logits_match_torch_reference(
    state: dict[str, np.ndarray], backbone: Backbone, classifier: Any, n: int, h: int, w: int,
) -> None:
    images = _images(n, h, w, seed=h * w)
    ref = _reference(state, images)
    got = backbone(images)
    for name, stride in (("f4", 4), ("f8", 8), ("f16", 16)):
        arr = getattr(got, name)
        assert arr.shape == (n, FEATURE_CHANNELS[name], math.ceil(h / stride), math.ceil(w / stride))
        _close(arr, ref[name], f"{name} at {h}x{w}")
    (logits,) = classifier.run(["logits"], {"image": images.transpose(0, 3, 1, 2).astype(np.float32)})
    _close(logits, ref["logits"], f"logits at {h}x{w}")


def test_graphs_are_valid_and_shaped_as_documented(state: dict[str, np.ndarray]) -> None:
    feats = build_feature_graph(state)
    onnx.checker.check_model(feats, full_check=True)
    assert feats.opset_import[0].version == 17
    (inp,) = feats.graph.input
    assert inp.name == "image"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["N", 3, "H", "W"]
    outs = {o.name: o.type.tensor_type.shape.dim[1].dim_value for o in feats.graph.output}
    assert outs == FEATURE_CHANNELS
    # blocks 11..15 and the head are not part of the feature graph
    names = {n.name for n in feats.graph.node}
    assert any(n.startswith("block10.") for n in names)
    assert not any(n.startswith(("block11.", "head")) for n in names)
    assert {n.op_type for n in feats.graph.node} == {"Sub", "Mul", "Conv", "Clip", "Add"}

    cls = build_classifier_graph(state)
    onnx.checker.check_model(cls, full_check=True)
    assert [o.name for o in cls.graph.output] == ["logits"]


def test_bad_state_dicts_raise_input_error(state: dict[str, np.ndarray]) -> None:
    missing = dict(state)
    del missing["_blocks.3._depthwise_conv.weight"]
    with pytest.raises(InputError, match=r"_blocks\.3\._depthwise_conv\.weight"):
        build_feature_graph(missing)
    wrong = dict(state)
    wrong["_fc.weight"] = wrong["_fc.weight"][:10]
    build_feature_graph(wrong)  # the classifier head is not needed for features
    with pytest.raises(InputError, match="_fc.weight has shape"):
        build_classifier_graph(wrong)


def test_backbone_features_are_deterministic_across_batches(backbone: Backbone) -> None:
    images = _images(3, 64, 96, seed=3)
    batch = backbone(images)
    one = backbone(images[1])
    for name in FEATURE_CHANNELS:
        np.testing.assert_allclose(getattr(one, name)[0], getattr(batch, name)[1], rtol=0, atol=1e-5)


