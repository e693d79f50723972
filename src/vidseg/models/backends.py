"""Run a model file: ONNX Runtime for ``.onnx``, LiteRT for ``.tflite``.

Both take one input tensor and give a list of output arrays. Thread counts default to 1 intra-op
thread: on a busy 2-core machine one thread per op with decode/encode overlapped in other threads
beats two threads per op by far (see :mod:`vidseg.segment.pipeline`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vidseg.errors import InputError
from vidseg.models.card import ModelCard


class Backend(Protocol):
    """A loaded model: ``run(x)`` gives its outputs for one input tensor."""

    input_shape: tuple[int | None, ...]
    input_dtype: str

    def run(self, x: np.ndarray) -> list[np.ndarray]: ...


# accelerators used when this onnxruntime build has them (CPU is always last);
# VIDSEG_ORT_PROVIDERS="CPUExecutionProvider" (a comma list) overrides the choice
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "ROCMExecutionProvider", "CoreMLExecutionProvider",
                       "DmlExecutionProvider", "OpenVINOExecutionProvider")


def choose_providers(available: list[str], requested: list[str] | None = None) -> list[str]:
    """The execution providers to ask for: ``requested`` (or $VIDSEG_ORT_PROVIDERS, or the
    preferred accelerators) that are ``available``, then CPU."""
    if requested is None and os.environ.get("VIDSEG_ORT_PROVIDERS"):
        requested = [p.strip() for p in os.environ["VIDSEG_ORT_PROVIDERS"].split(",") if p.strip()]
    wanted = list(requested) if requested is not None else list(PREFERRED_PROVIDERS)
    chosen = [p for p in wanted if p in available and p != "CPUExecutionProvider"]
    return [*chosen, "CPUExecutionProvider"]


def ort_session_options(ort: Any, threads: int) -> Any:
    """ONNX Runtime session options used everywhere in vidseg: ``threads`` intra-op threads, one
    sequential inter-op thread, every graph optimisation, and idle workers that sleep instead of
    spinning (on a small CPU shared with decoding, spinning made 2 threads slower than 1)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


class OnnxBackend:
    """ONNX Runtime session: an accelerator provider when the build has one, else CPU."""

    def __init__(self, path: str | Path, *, threads: int = 1, providers: list[str] | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InputError("running .onnx models needs onnxruntime (pip install 'vidseg[onnx]')", path) from exc
        so = ort_session_options(ort, threads)
        chosen = choose_providers(ort.get_available_providers(), providers)
        try:
            self.session = ort.InferenceSession(str(path), sess_options=so, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"cannot load ONNX model ({str(exc).splitlines()[0]})", path) from exc
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise InputError(f"the model has {len(inputs)} inputs; vidseg needs one image input", path)
        self.input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        self.input_dtype = "uint8" if "uint8" in inputs[0].type else "float32"
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.providers: list[str] = list(self.session.get_providers())
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(o) for o in self.session.run(self.output_names, {self.input_name: x})]


class TfliteBackend:
    """LiteRT (``ai_edge_litert``) interpreter with XNNPACK on ``threads`` threads."""

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InputError("running .tflite models needs ai-edge-litert (pip install ai-edge-litert; vidseg's default install has it)", path) from exc
        try:
            with _native_stderr_silenced():  # LiteRT prints "INFO: Created ... delegate" from C++
                self.interpreter = Interpreter(model_path=str(path), num_threads=max(1, threads))
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"cannot load TFLite model ({str(exc).splitlines()[0]})", path) from exc
        ins = self.interpreter.get_input_details()
        if len(ins) != 1:
            raise InputError(f"the model has {len(ins)} inputs; vidseg needs one image input", path)
        self._in = ins[0]["index"]
        self.input_shape = tuple(int(d) for d in ins[0]["shape"])
        self.input_dtype = np.dtype(ins[0]["dtype"]).name
        outs = self.interpreter.get_output_details()
        self._outs = [o["index"] for o in outs]
        self.metadata: dict[str, str] = {}
        # a fully integer (int8) model: float inputs are quantised and outputs dequantised here
        self._in_quant = _int8_quantisation(ins[0])
        self._out_quant = [_int8_quantisation(o) for o in outs]
        if self._in_quant is not None:
            self.input_dtype = "float32"

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if self._in_quant is not None and x.dtype != np.int8:
            scale, zero = self._in_quant
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        self.interpreter.set_tensor(self._in, x)
        self.interpreter.invoke()
        out = []
        for i, q in zip(self._outs, self._out_quant, strict=True):
            y = self.interpreter.get_tensor(i)
            out.append((y.astype(np.float32) - q[1]) * q[0] if q is not None else y.copy())
        return out


def _int8_quantisation(detail: dict) -> tuple[float, int] | None:
    """``(scale, zero point)`` of an int8 tensor of a LiteRT model, else ``None``."""
    if np.dtype(detail["dtype"]) != np.int8:
        return None
    scale, zero = detail.get("quantization", (0.0, 0))
    return (float(scale), int(zero)) if scale else None


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (C++ log lines), if possible."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        sys.stderr.flush()
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_backend(path: str | Path, *, threads: int = 1) -> OnnxBackend | TfliteBackend:
    """Open ``path`` with the backend its suffix calls for."""
    p = Path(path)
    if not p.is_file():
        raise InputError("model file not found", p)
    if p.suffix.lower() == ".tflite":
        return TfliteBackend(p, threads=threads)
    return OnnxBackend(p, threads=threads)


def infer_card(backend: OnnxBackend | TfliteBackend, path: str | Path) -> ModelCard:
    """A card guessed from a model without one: input size/layout from its input, YOLO-seg when it
    has two outputs shaped like boxes+coefficients and prototypes, semantic logits otherwise.
    Class names come from Ultralytics-style ``names`` metadata when present."""
    p = Path(path)
    shape = backend.input_shape
    if len(shape) != 4:
        raise InputError(f"cannot infer a model card: input shape {list(shape)} is not 4-D; add {p.with_suffix('.json').name}", p)
    layout = "NHWC" if shape[3] in (1, 3) and shape[1] not in (1, 3) else "NCHW"
    h, w = (shape[1], shape[2]) if layout == "NHWC" else (shape[2], shape[3])
    if h is None or w is None:
        raise InputError(f"cannot infer a model card: dynamic input size; add {p.with_suffix('.json').name} with input_size", p)
    names = _metadata_names(backend.metadata)
    out_shapes = _output_shapes(backend)
    is_yolo = len(out_shapes) == 2 and len(out_shapes[0]) == 3 and len(out_shapes[1]) == 4
    common: dict[str, Any] = dict(name=p.stem, file=str(p), input_size=(int(w), int(h)), layout=layout,
                                  dtype=backend.input_dtype if backend.input_dtype == "uint8" else "float32")
    if is_yolo:
        nm = out_shapes[1][1] or 32
        rows = out_shapes[0][1] or 0
        nc = rows - 4 - nm if rows else len(names)
        labels = tuple(names) if names else tuple(f"class{i}" for i in range(max(1, nc)))
        return ModelCard(task="instance", output="yolo-seg", resize="letterbox", labels=labels, **common)
    c = _semantic_channels(out_shapes[0] if out_shapes else ())
    labels = tuple(names) if names else tuple(["background"] + [f"class{i}" for i in range(1, max(2, c))])
    return ModelCard(task="semantic", output="logits", labels=labels, **common)


def _output_shapes(backend: OnnxBackend | TfliteBackend) -> list[tuple[int | None, ...]]:
    if isinstance(backend, OnnxBackend):
        return [tuple(d if isinstance(d, int) else None for d in o.shape) for o in backend.session.get_outputs()]
    return [tuple(int(d) for d in o["shape"]) for o in backend.interpreter.get_output_details()]


def _semantic_channels(shape: tuple[int | None, ...]) -> int:
    if len(shape) == 4:
        c1, c3 = shape[1], shape[3]
        if c3 is not None and (c1 is None or c3 < c1):
            return int(c3)
        return int(c1 or 2)
    return 2


def _metadata_names(meta: dict[str, str]) -> list[str]:
    raw = meta.get("names")
    if not raw:
        return []
    try:  # Ultralytics writes a Python dict literal: {0: 'person', 1: 'bicycle'}
        import ast

        parsed = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return []
    if isinstance(parsed, dict):
        try:
            return [str(parsed[k]) for k in sorted(parsed, key=lambda k: int(k))]
        except (TypeError, ValueError):
            return [str(v) for v in parsed.values()]
    if isinstance(parsed, list):
        return [str(v) for v in parsed]
    return []
