"""Export a trained engine to the ONNX graphs the tracker runs (three, and the refiner's where
there is one), with a model card."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch

from vidseg.io.atomic import write_bytes_atomic
from vidseg.models.cache import sha256_file
from vidseg.train.engine_net import F4, F8, F16, KEY_DIM, VALUE_DIM, EngineNet, MaskRefiner

OPSET = 17


def export_onnx(module: torch.nn.Module, args: tuple[torch.Tensor, ...], inputs: list[str], output: str,
                dynamic: dict[str, dict[int, str]]) -> bytes:
    """``module`` as ONNX bytes (TorchScript exporter, opset :data:`OPSET`, ``dynamic`` axes)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, buf,  # type: ignore[arg-type]
                          dynamo=False, opset_version=OPSET, input_names=inputs,
                          output_names=[output], dynamic_axes=dynamic)
    return buf.getvalue()


def export_graphs(net: EngineNet) -> dict[str, bytes]:
    """The engine's ``key``, ``value`` and ``decoder`` ONNX graphs (dynamic batch and size)."""
    net = net.eval()
    h, w = 240, 432
    f4 = torch.zeros(1, F4, h // 4, w // 4)
    f8 = torch.zeros(1, F8, h // 8, w // 8)
    f16 = torch.zeros(1, F16, h // 16, w // 16)
    m4 = torch.zeros(1, 1, h // 4, w // 4)
    size = {0: "n", 2: "h", 3: "w"}
    return {
        "key": export_onnx(net.key, (f16,), ["f16"], "key", {"f16": size, "key": size}),
        "value": export_onnx(net.value, (f4, f8, f16, m4, m4), ["f4", "f8", "f16", "mask4", "others4"],
                         "value", {n: size for n in ("f4", "f8", "f16", "mask4", "others4", "value")}),
        "decoder": export_onnx(net.decoder, (torch.zeros(1, VALUE_DIM, h // 16, w // 16), f16, f8, f4, m4),
                           ["readout", "f16", "f8", "f4", "prev4"], "logits",
                           {n: size for n in ("readout", "f16", "f8", "f4", "prev4", "logits")}),
    }


def export_refiner(refiner: MaskRefiner) -> bytes:
    """The ``refine`` ONNX graph (dynamic batch and size)."""
    h, w = 240, 432
    size = {0: "n", 2: "h", 3: "w"}
    return export_onnx(refiner.eval(), (torch.zeros(1, 3, h, w), torch.zeros(1, 1, h // 4, w // 4),
                                        torch.zeros(1, F4, h // 4, w // 4)),
                       ["image", "logits4", "f4"], "logits", {n: size for n in ("image", "logits4", "f4", "logits")})


def export_engine(net: EngineNet, folder: Path, card: dict, refiner: MaskRefiner | None = None) -> dict:
    """Write ``key.onnx``, ``value.onnx``, ``decoder.onnx`` (and ``refine.onnx`` with a refiner)
    and ``card.json`` (the given card plus each file's SHA-256) into ``folder``; returns the card."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    graphs = export_graphs(net)
    if refiner is not None:
        graphs["refine"] = export_refiner(refiner)
    else:
        (folder / "refine.onnx").unlink(missing_ok=True)
    for name, data in graphs.items():
        path = folder / f"{name}.onnx"
        write_bytes_atomic(path, data)
        files[path.name] = sha256_file(path)
    card = {**card, "files": files, "key_dim": KEY_DIM, "value_dim": VALUE_DIM,
            "parameters": sum(p.numel() for p in net.parameters())
            + (sum(p.numel() for p in refiner.parameters()) if refiner is not None else 0)}
    write_bytes_atomic(folder / "card.json", (json.dumps(card, indent=1) + "\n").encode())
    return card
