"""TFLite conversion (litert-torch, offline) and full-integer int8 quantisation (ai-edge-quantizer
with a calibration set): int8 weights and activations, int8 input and output."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator

import numpy as np

from vidseg.errors import InputError


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Silence the converters' C++ and Python chatter (fd 1 and 2) for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    level = logging.root.level
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
        logging.disable(logging.WARNING)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        logging.disable(logging.NOTSET)
        logging.root.setLevel(level)


def tflite_bytes(net, spec) -> bytes:  # type: ignore[no-untyped-def]
    """The float TFLite model of a torch network (:class:`vidseg.train.nets.NetSpec` ``spec``)
    with its output activation; input ``(1, C, H, W)`` float 0..1 (for one channel the bytes are
    laid out as NHWC too)."""
    try:
        import litert_torch
        import torch
    except ImportError as exc:
        raise InputError("TFLite export needs litert-torch and torch: pip install 'vidseg[mcu,torch]'") from exc
    from vidseg.train.nets import WithProbabilities

    w, h = spec.size
    with quiet_native():
        model = litert_torch.convert(WithProbabilities(net).eval(), (torch.zeros(1, spec.channels_in, h, w),))
        return bytes(model.model_content())


def signature(model: bytes) -> tuple[str, str]:
    """``(signature key, input name)`` of a one-input TFLite model."""
    from ai_edge_litert.interpreter import Interpreter

    sigs = Interpreter(model_content=model).get_signature_list()
    if not sigs:
        raise InputError("the TFLite model has no signature to calibrate")
    key = next(iter(sigs))
    return key, sigs[key]["inputs"][0]


def quantise_int8(model: bytes, calibration: np.ndarray) -> bytes:
    """Full-integer int8 quantisation of a float TFLite model: weights per channel (symmetric),
    activations per tensor from the ranges seen on ``calibration`` ``(N, C, H, W)`` float inputs."""
    try:
        from ai_edge_quantizer import quantizer, recipe
    except ImportError as exc:
        raise InputError("int8 export needs ai-edge-quantizer: pip install 'vidseg[mcu]'") from exc
    if len(calibration) == 0:
        raise InputError("the calibration set is empty")
    key, name = signature(model)
    q = quantizer.Quantizer(model)
    q.load_quantization_recipe(recipe.static_wi8_ai8())
    with quiet_native():
        result = q.calibrate({key: [{name: x[None]} for x in calibration.astype(np.float32)]}, num_threads=2)
        out = q.quantize(result, enable_progress_report=False)
    return bytes(out.quantized_model)


def strip_names(model: bytes) -> bytes:
    """The model with its tensor names shortened to ``t<index>`` (litert-torch writes each
    tensor's whole module path: more than half the flatbuffer of a small network) and the
    converter-only metadata dropped; ops, weights and signatures unchanged. Needs the flatbuffer
    schema of ``tflite-micro``; returns ``model`` as it is without it."""
    try:
        import flatbuffers
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    except ImportError:
        return model
    obj = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(model), 0))
    for sub in obj.subgraphs or []:
        for i, tensor in enumerate(sub.tensors or []):
            tensor.name = f"t{i}".encode()
    obj.metadata = [m for m in obj.metadata or [] if m.name != b"keep_stablehlo_constant"] or None
    builder = flatbuffers.Builder(len(model))
    builder.Finish(obj.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
