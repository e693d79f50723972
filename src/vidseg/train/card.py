"""The model card written beside every exported model, so ``vidseg segment --model`` runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidseg.io.atomic import write_bytes_atomic


def model_card(name: str, spec: dict[str, Any], file: str, **extra: Any) -> dict[str, Any]:
    """A semantic card for a network of :class:`vidseg.train.nets.NetSpec` ``spec`` (a dict):
    input 0..1 (``scale`` 255) in RGB or GRAY, NCHW, probabilities out."""
    classes = list(spec["classes"])
    return {
        "name": name, "task": "semantic", "file": file, "input_size": list(spec["size"]), "layout": "NCHW",
        "color": "GRAY" if spec["gray"] else "RGB", "scale": 255.0, "mean": [0.0], "std": [1.0],
        "labels": ["background", *classes], "output": "probabilities", "output_layout": "NCHW",
        "description": f"vidseg {spec['kind']} ({spec['arch']}), {spec['size'][0]}x{spec['size'][1]} "
                       f"{'grayscale' if spec['gray'] else 'RGB'} in, probability per pixel at "
                       f"{spec.get('out_res', 'full')} resolution",
        "extra": {"spec": spec, **extra},
    }


def write_card(model_path: Path, card: dict[str, Any]) -> Path:
    """Write ``card`` as ``<model stem>.json`` beside ``model_path`` (atomically)."""
    path = model_path.with_suffix(".json")
    write_bytes_atomic(path, (json.dumps(card, indent=1) + "\n").encode())
    return path
