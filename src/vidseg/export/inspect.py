"""Facts about a TFLite model read with LiteRT: its ops, multiply-accumulates, inputs, outputs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vidseg.errors import InputError


@dataclass
class TensorInfo:
    shape: list[int]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0


@dataclass
class ModelFacts:
    """Op counts (by TFLite builtin name), MACs of the convolutions and fully connected layers,
    and the input and output tensors."""

    ops: dict[str, int] = field(default_factory=dict)
    macs: int = 0
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)

    @property
    def int8(self) -> bool:
        return all(t.dtype == "int8" for t in self.inputs + self.outputs)


def _info(d: dict) -> TensorInfo:
    scale, zero = d.get("quantization", (0.0, 0))
    return TensorInfo([int(v) for v in d["shape"]], np.dtype(d["dtype"]).name, float(scale), int(zero))


def model_facts(model: bytes) -> ModelFacts:
    """Read ``model`` (TFLite bytes) with LiteRT's interpreter."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:  # without the XNNPACK delegate, which would hide the ops behind one DELEGATE node
        it = Interpreter(model_content=model,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"not a TFLite model LiteRT can load ({str(exc).splitlines()[0][:160]})") from exc
    shapes = {d["index"]: [int(v) for v in d["shape"]] for d in it.get_tensor_details()}
    ops: Counter[str] = Counter()
    macs = 0
    for op in it._get_ops_details():  # noqa: SLF001 - the one place LiteRT lists ops
        name = op["op_name"]
        ops[name] += 1
        if not len(op["outputs"]) or not len(op["inputs"]) or op["outputs"][0] not in shapes:
            continue
        out = shapes[op["outputs"][0]]
        w = shapes.get(op["inputs"][1], []) if len(op["inputs"]) > 1 else []
        if name == "CONV_2D" and len(w) == 4:  # weights (O, kh, kw, I)
            macs += int(np.prod(out)) * w[1] * w[2] * w[3]
        elif name == "DEPTHWISE_CONV_2D" and len(w) == 4:  # weights (1, kh, kw, C)
            macs += int(np.prod(out)) * w[1] * w[2]
        elif name == "FULLY_CONNECTED" and len(w) == 2:
            macs += int(np.prod(out)) * w[1]
        elif name == "TRANSPOSE_CONV" and len(w) == 4:
            macs += int(np.prod(shapes.get(op["inputs"][2], out))) * w[0] * w[1] * w[2]
    return ModelFacts(dict(sorted(ops.items())), macs,
                      [_info(d) for d in it.get_input_details()], [_info(d) for d in it.get_output_details()])
