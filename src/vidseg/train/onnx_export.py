"""A trained network as an ONNX graph (torch's TorchScript exporter; fixed input size)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import nn

from vidseg.io.atomic import write_bytes_atomic
from vidseg.train.nets import NetSpec, WithProbabilities

OPSET = 17


def onnx_bytes(net: nn.Module, spec: NetSpec) -> bytes:
    """The network with its output activation as ONNX: input ``image`` ``(1, C, H, W)`` float 0..1,
    output ``probabilities``."""
    w, h = spec.size
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(WithProbabilities(net).eval(), (torch.zeros(1, spec.channels_in, h, w),), buf,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET, input_names=["image"],
                          output_names=["probabilities"])
    return buf.getvalue()


def write_onnx(net: nn.Module, spec: NetSpec, path: Path) -> Path:
    """Write :func:`onnx_bytes` to ``path`` atomically."""
    write_bytes_atomic(path, onnx_bytes(net, spec))
    return path
