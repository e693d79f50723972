"""Export a trained head on the backbone's features (the primary-object head ``vidseg track --auto``
runs, the click head of ``vidseg annotate``) to an ONNX graph with a model card (``card.json``:
the given fields plus the graph's SHA-256)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from vidseg.io.atomic import write_bytes_atomic
from vidseg.models.cache import sha256_file
from vidseg.train.engine_export import export_onnx
from vidseg.train.engine_net import F4, F8, F16, count_parameters


def export_head(net: nn.Module, folder: Path, card: dict, name: str = "head", maps: int = 0) -> dict:
    """Write ``<name>.onnx`` (dynamic batch and size; inputs ``f4``, ``f8``, ``f16`` and, with
    ``maps`` > 0, ``maps4``: that many stride-4 maps) and ``card.json`` into ``folder``; returns
    the card."""
    net = net.eval()
    h, w = 240, 432
    args: tuple[torch.Tensor, ...] = (torch.zeros(1, F4, h // 4, w // 4), torch.zeros(1, F8, h // 8, w // 8),
                                      torch.zeros(1, F16, h // 16, w // 16))
    inputs = ["f4", "f8", "f16"]
    if maps:
        args += (torch.zeros(1, maps, h // 4, w // 4),)
        inputs.append("maps4")
    size = {0: "n", 2: "h", 3: "w"}
    data = export_onnx(net, args, inputs, "logits", {n: size for n in (*inputs, "logits")})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    write_bytes_atomic(path, data)
    card = {**card, "files": {path.name: sha256_file(path)}, "parameters": count_parameters(net)}
    write_bytes_atomic(folder / "card.json", (json.dumps(card, indent=1) + "\n").encode())
    return card
