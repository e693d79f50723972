"""A small ONNX graph builder for frozen convolutional networks (conv with folded batch norm,
ReLU6 as ``Clip``, residual ``Add``), built with ``onnx.helper`` at opset 17."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["OPSET", "BatchNorm", "GraphBuilder", "fold_batch_norm"]

OPSET = 17

Dim = int | str | None


@dataclass(frozen=True)
class BatchNorm:
    """Inference-mode batch norm parameters (per output channel)."""

    weight: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float


def fold_batch_norm(weight: np.ndarray, bias: np.ndarray | None, bn: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``bn`` into a conv ``weight`` ``[out, in, kh, kw]`` and ``bias``; returns float32 arrays.

    Computed in float64: ``w' = w * g / sqrt(v + eps)``, ``b' = (b - m) * g / sqrt(v + eps) + beta``.
    """
    scale = bn.weight.astype(np.float64) / np.sqrt(bn.var.astype(np.float64) + bn.eps)
    b = np.zeros(weight.shape[0]) if bias is None else bias.astype(np.float64)
    w = weight.astype(np.float64) * scale.reshape(-1, *([1] * (weight.ndim - 1)))
    b = (b - bn.mean.astype(np.float64)) * scale + bn.bias.astype(np.float64)
    return w.astype(np.float32), b.astype(np.float32)


class GraphBuilder:
    """Collects nodes and initializers; each method returns the name of its output tensor."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self._names: set[str] = set()

    def _fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def input(self, name: str, shape: Sequence[Dim], elem_type: int = TensorProto.FLOAT) -> str:
        """Declare a graph input."""
        self._names.add(name)
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        return name

    def const(self, name: str, value: np.ndarray) -> str:
        """Add an initializer."""
        name = self._fresh(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        """Add one single-output node."""
        out = self._fresh(name)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        return out

    def conv(
        self, x: str, weight: np.ndarray, name: str, *, bias: np.ndarray | None = None,
        bn: BatchNorm | None = None, stride: int = 1, group: int = 1, relu6: bool = False,
    ) -> str:
        """``Conv`` (TF "same" padding: ``SAME_UPPER``) with ``bn`` folded in, then optional ReLU6."""
        if bn is not None:
            weight, bias = fold_batch_norm(weight, bias, bn)
        inputs = [x, self.const(f"{name}.weight", weight.astype(np.float32))]
        if bias is not None:
            inputs.append(self.const(f"{name}.bias", bias.astype(np.float32)))
        kh, kw = weight.shape[2:]
        y = self.node("Conv", inputs, name, auto_pad="SAME_UPPER", strides=[stride, stride],
                      kernel_shape=[int(kh), int(kw)], group=group)
        return self.relu6(y, f"{name}.relu6") if relu6 else y

    def relu6(self, x: str, name: str) -> str:
        """``min(max(x, 0), 6)`` as ``Clip``."""
        return self.node("Clip", [x, self.scalar("zero", 0.0), self.scalar("six", 6.0)], name)

    def add(self, a: str, b: str, name: str) -> str:
        """Element-wise ``a + b``."""
        return self.node("Add", [a, b], name)

    def scalar(self, name: str, value: float) -> str:
        """A shared float32 scalar initializer (created on first use of ``name``)."""
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(numpy_helper.from_array(np.array(value, np.float32), name))
        return name

    def rename(self, old: str, new: str) -> str:
        """Give the node output ``old`` the name ``new`` (unused so far), e.g. a public output name."""
        self._names.add(new)
        for n in self.nodes:
            for seq in (n.input, n.output):
                for i, v in enumerate(seq):
                    if v == old:
                        seq[i] = new
        return new

    def build(self, outputs: Mapping[str, Sequence[Dim]], doc: str = "",
              metadata: dict[str, str] | None = None) -> onnx.ModelProto:
        """The model whose graph outputs are ``outputs`` (existing tensor names -> shapes)."""
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in outputs.items()]
        graph = helper.make_graph(self.nodes, self.name, self.inputs, outs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="vidseg", doc_string=doc)
        model.ir_version = 8  # opset 17's IR; readable by onnxruntime >= 1.13
        if metadata:
            helper.set_model_props(model, metadata)
        return model
