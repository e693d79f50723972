"""EfficientNet-Lite0 as ONNX graphs built from a numpy ``state_dict`` (lukemelas names).

The network: a 3x3 stride-2 stem (32 channels), 16 MBConv blocks without squeeze-excite
(1x1 expand x6, depthwise kxk, 1x1 project; ReLU6 after the stem, expand and depthwise batch
norms, none after project; a residual add when stride is 1 and channels match), a 1x1 head to
1280 channels, global average pooling and a 1000-class ImageNet classifier. Batch norms
(eps 1e-3) are folded into the convolutions; padding is TensorFlow's "same" (``SAME_UPPER``).
The graphs take ``image`` float32 ``[N, 3, H, W]`` RGB in 0..255 and normalise it inside.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx

from vidseg.errors import InputError
from vidseg.models.backbone.graph import BatchNorm, GraphBuilder

__all__ = ["BLOCKS", "FEATURE_BLOCKS", "GRAPH_VERSION", "build_classifier_graph", "build_feature_graph"]

GRAPH_VERSION = "1"  # bump when the graph changes; cached graphs carry it in their metadata
BN_EPS = 1e-3
MEAN, STD = 127.0, 128.0
STEM_CHANNELS, HEAD_CHANNELS, NUM_CLASSES = 32, 1280, 1000
EXPAND_RATIO = 6
#: (kernel, stride, output channels) of each MBConv block; block 0 has no expand conv.
BLOCKS: tuple[tuple[int, int, int], ...] = (
    (3, 1, 16),
    (3, 2, 24), (3, 1, 24),
    (5, 2, 40), (5, 1, 40),
    (3, 2, 80), (3, 1, 80), (3, 1, 80),
    (5, 1, 112), (5, 1, 112), (5, 1, 112),
    (5, 2, 192), (5, 1, 192), (5, 1, 192), (5, 1, 192),
    (3, 1, 320),
)
#: feature output -> the block whose output it is (stride 4, 8, 16).
FEATURE_BLOCKS = {"f4": 2, "f8": 4, "f16": 10}

State = Mapping[str, np.ndarray]


def build_feature_graph(state: State) -> onnx.ModelProto:
    """The frozen feature extractor: outputs ``f4`` (24 ch, stride 4), ``f8`` (40 ch, stride 8)
    and ``f16`` (112 ch, stride 16), the outputs of blocks 2, 4 and 10; later blocks are left out.

    Raises :class:`InputError` when ``state`` lacks a tensor or one has the wrong shape.
    """
    last = max(FEATURE_BLOCKS.values())
    _check(state, last, head=False)
    g = GraphBuilder("efficientnet_lite0_features")
    outs = _trunk(g, state, last)
    outputs: dict[str, list[int | str | None]] = {}
    for name, block in FEATURE_BLOCKS.items():
        g.rename(outs[block], name)
        outputs[name] = ["N", BLOCKS[block][2], None, None]
    return g.build(outputs, doc="EfficientNet-Lite0 (ImageNet) features at strides 4, 8, 16",
                   metadata=_metadata("features"))


def build_classifier_graph(state: State) -> onnx.ModelProto:
    """The whole ImageNet classifier: output ``logits`` ``[N, 1000]``.

    Raises :class:`InputError` when ``state`` lacks a tensor or one has the wrong shape.
    """
    last = len(BLOCKS) - 1
    _check(state, last, head=True)
    g = GraphBuilder("efficientnet_lite0_classifier")
    x = _trunk(g, state, last)[last]
    x = g.conv(x, state["_conv_head.weight"], "head", bn=_bn(state, "_bn1"), relu6=True)
    x = g.node("GlobalAveragePool", [x], "pool")
    x = g.node("Flatten", [x], "flatten", axis=1)
    x = g.node("Gemm", [x, g.const("fc.weight", state["_fc.weight"].astype(np.float32)),
                        g.const("fc.bias", state["_fc.bias"].astype(np.float32))], "fc", transB=1)
    g.rename(x, "logits")
    return g.build({"logits": ["N", NUM_CLASSES]}, doc="EfficientNet-Lite0 ImageNet classifier",
                   metadata=_metadata("classifier"))


def _metadata(kind: str) -> dict[str, str]:
    return {"vidseg_graph": f"efficientnet-lite0-{kind}", "vidseg_graph_version": GRAPH_VERSION}


def _bn(state: State, prefix: str) -> BatchNorm:
    return BatchNorm(state[f"{prefix}.weight"], state[f"{prefix}.bias"], state[f"{prefix}.running_mean"],
                     state[f"{prefix}.running_var"], BN_EPS)


def _trunk(g: GraphBuilder, state: State, last: int) -> dict[int, str]:
    """Input, normalisation, stem and blocks ``0..last``; returns each block's output name."""
    x = g.input("image", ["N", 3, "H", "W"])
    x = g.node("Sub", [x, g.scalar("mean", MEAN)], "centre")
    x = g.node("Mul", [x, g.scalar("inv_std", 1.0 / STD)], "normalise")
    x = g.conv(x, state["_conv_stem.weight"], "stem", bn=_bn(state, "_bn0"), stride=2, relu6=True)
    cin = STEM_CHANNELS
    outs: dict[int, str] = {}
    for i, (_k, stride, cout) in enumerate(BLOCKS[: last + 1]):
        p = f"_blocks.{i}."
        y = x
        if i > 0:
            y = g.conv(y, state[p + "_expand_conv.weight"], f"block{i}.expand", bn=_bn(state, p + "_bn0"),
                       relu6=True)
        mid = state[p + "_depthwise_conv.weight"].shape[0]
        y = g.conv(y, state[p + "_depthwise_conv.weight"], f"block{i}.depthwise", bn=_bn(state, p + "_bn1"),
                   stride=stride, group=mid, relu6=True)
        y = g.conv(y, state[p + "_project_conv.weight"], f"block{i}.project", bn=_bn(state, p + "_bn2"))
        if stride == 1 and cin == cout:
            y = g.add(y, x, f"block{i}.residual")
        outs[i] = x = y
        cin = cout
    return outs


def _expected_shapes(last: int, head: bool) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"_conv_stem.weight": (STEM_CHANNELS, 3, 3, 3)}
    shapes.update(_bn_shapes("_bn0", STEM_CHANNELS))
    cin = STEM_CHANNELS
    for i, (k, _stride, cout) in enumerate(BLOCKS[: last + 1]):
        p = f"_blocks.{i}."
        mid = cin if i == 0 else cin * EXPAND_RATIO
        if i > 0:
            shapes[p + "_expand_conv.weight"] = (mid, cin, 1, 1)
            shapes.update(_bn_shapes(p + "_bn0", mid))
        shapes[p + "_depthwise_conv.weight"] = (mid, 1, k, k)
        shapes.update(_bn_shapes(p + "_bn1", mid))
        shapes[p + "_project_conv.weight"] = (cout, mid, 1, 1)
        shapes.update(_bn_shapes(p + "_bn2", cout))
        cin = cout
    if head:
        shapes["_conv_head.weight"] = (HEAD_CHANNELS, cin, 1, 1)
        shapes.update(_bn_shapes("_bn1", HEAD_CHANNELS))
        shapes["_fc.weight"] = (NUM_CLASSES, HEAD_CHANNELS)
        shapes["_fc.bias"] = (NUM_CLASSES,)
    return shapes


def _bn_shapes(prefix: str, n: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.{k}": (n,) for k in ("weight", "bias", "running_mean", "running_var")}


def _check(state: State, last: int, head: bool) -> None:
    for name, shape in _expected_shapes(last, head).items():
        if name not in state:
            raise InputError(f"EfficientNet-Lite0 weights lack {name}")
        got = tuple(state[name].shape)
        if got != shape:
            raise InputError(f"EfficientNet-Lite0 weight {name} has shape {got}, expected {shape}")
        if not np.issubdtype(state[name].dtype, np.floating) or not np.all(np.isfinite(state[name])):
            raise InputError(f"EfficientNet-Lite0 weight {name} is not finite floating point")
