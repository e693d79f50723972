"""Small ONNX models built with ``onnx.helper``: for tests (known outputs) and benchmarks (known size).

* :func:`conv1x1_onnx` - one 1x1 convolution with given weights: logits are an exact, known
  function of the input pixels.
* :func:`constant_onnx` - a graph that ignores its image input and emits fixed tensors (e.g. a
  YOLO-seg layout), so post-processing can be checked exactly.
* :func:`mobile_segnet_onnx` - a MobileNet-like semantic segmenter (random weights) of a chosen
  parameter count, for speed measurements of a "user-supplied" model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

OPSET = 17
IR_VERSION = 8


def _save(graph: object, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])  # type: ignore[arg-type]
    model.ir_version = IR_VERSION
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    p = Path(path)
    onnx.save(model, str(p))
    return p


def conv1x1_onnx(path: str | Path, weight: np.ndarray, bias: np.ndarray, size: tuple[int, int],
                 *, layout: str = "NCHW") -> Path:
    """A model computing ``out[c] = sum_k weight[c, k] * in[k] + bias[c]`` per pixel.

    ``size`` is the input ``(width, height)``. ``layout`` NHWC takes and gives channels last.
    """
    from onnx import TensorProto, helper, numpy_helper

    w, h = size
    c_out, c_in = weight.shape
    inits = [numpy_helper.from_array(weight.reshape(c_out, c_in, 1, 1).astype(np.float32), "W"),
             numpy_helper.from_array(bias.astype(np.float32), "B")]
    nodes = []
    src = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["input"], ["x_nchw"], perm=[0, 3, 1, 2]))
        src = "x_nchw"
    conv_out = "logits" if layout == "NCHW" else "y_nchw"
    nodes.append(helper.make_node("Conv", [src, "W", "B"], [conv_out]))
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["y_nchw"], ["logits"], perm=[0, 2, 3, 1]))
    in_shape = [1, c_in, h, w] if layout == "NCHW" else [1, h, w, c_in]
    out_shape = [1, c_out, h, w] if layout == "NCHW" else [1, h, w, c_out]
    graph = helper.make_graph(
        nodes, "conv1x1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
        initializer=inits,
    )
    return _save(graph, path)


def constant_onnx(path: str | Path, outputs: Sequence[np.ndarray], size: tuple[int, int],
                  *, metadata: dict[str, str] | None = None) -> Path:
    """A model with a ``(1, 3, h, w)`` image input that returns ``outputs`` unchanged.

    The input still flows into the graph (a zero-weighted sum is added to the first output) so
    that runtimes do not prune it.
    """
    from onnx import TensorProto, helper, numpy_helper

    w, h = size
    nodes, inits, outs = [], [], []
    nodes.append(helper.make_node("ReduceSum", ["input"], ["s"], keepdims=0))
    inits.append(numpy_helper.from_array(np.zeros((), np.float32), "zero"))
    nodes.append(helper.make_node("Mul", ["s", "zero"], ["s0"]))
    for i, arr in enumerate(outputs):
        a = np.asarray(arr, np.float32)
        inits.append(numpy_helper.from_array(a, f"c{i}"))
        name = f"output{i}"
        if i == 0:
            nodes.append(helper.make_node("Add", [f"c{i}", "s0"], [name]))
        else:
            nodes.append(helper.make_node("Identity", [f"c{i}"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape)))
    graph = helper.make_graph(
        nodes, "constant", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])], outs,
        initializer=inits,
    )
    return _save(graph, path, metadata)


def mobile_segnet_onnx(path: str | Path, *, size: tuple[int, int] = (320, 240), classes: int = 21,
                       widths: tuple[int, int] = (128, 320), blocks: tuple[int, int] = (4, 5),
                       seed: int = 0) -> tuple[Path, int, int]:
    """A MobileNet-like segmenter with most parameters at low resolution, as real mobile
    segmenters have: a strided stem to 1/16, ``blocks[0]`` depthwise-separable residual blocks of
    ``widths[0]`` channels, a strided 3x3 conv to 1/32, ``blocks[1]`` blocks of ``widths[1]``
    channels, a 1x1 classifier and a bilinear resize to 1/8 of the input (logits, NCHW).

    Random weights (He init). Returns ``(path, parameter count, multiply-accumulates per frame)``.
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w, h = size
    nodes: list[object] = []
    inits: list[object] = []
    count = 0
    macs = 0
    res = [h, w]

    def conv(x: str, cin: int, cout: int, k: int, stride: int, groups: int = 1, relu: bool = True) -> str:
        nonlocal count, macs
        i = len(inits)
        wt = rng.normal(0, np.sqrt(2.0 / (k * k * cin / groups)), (cout, cin // groups, k, k)).astype(np.float32)
        b = np.zeros(cout, np.float32)
        inits.extend([numpy_helper.from_array(wt, f"w{i}"), numpy_helper.from_array(b, f"b{i}")])
        count += wt.size + b.size
        res[0], res[1] = (res[0] + stride - 1) // stride, (res[1] + stride - 1) // stride
        macs += wt.size * res[0] * res[1]
        y = f"y{i}"
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [y], kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[k // 2] * 4, group=groups))
        if relu:
            nodes.append(helper.make_node("Relu", [y], [y + "r"]))
            return y + "r"
        return y

    def block(x: str, c: int) -> str:
        d = conv(x, c, c, 3, 1, groups=c)
        p = conv(d, c, c, 1, 1, relu=False)
        nodes.append(helper.make_node("Add", [x, p], [p + "a"]))
        nodes.append(helper.make_node("Relu", [p + "a"], [p + "ar"]))
        return p + "ar"

    x = conv("input", 3, 16, 3, 2)
    x = conv(x, 16, 32, 3, 2)
    x = conv(x, 32, 64, 3, 2)
    x = conv(x, 64, widths[0], 3, 2)
    for _ in range(blocks[0]):
        x = block(x, widths[0])
    x = conv(x, widths[0], widths[1], 3, 2)
    for _ in range(blocks[1]):
        x = block(x, widths[1])
    y = conv(x, widths[1], classes, 1, 1, relu=False)
    oh, ow = max(1, h // 8), max(1, w // 8)
    inits.append(numpy_helper.from_array(np.array([1, classes, oh, ow], np.int64), "sizes"))
    nodes.append(helper.make_node("Resize", [y, "", "", "sizes"], ["logits"], mode="linear"))
    graph = helper.make_graph(
        nodes, "mobile_segnet",  # type: ignore[arg-type]
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes, oh, ow])],
        initializer=inits,  # type: ignore[arg-type]
    )
    return _save(graph, path), count, macs
