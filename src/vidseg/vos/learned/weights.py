"""The learned engine's trained graphs (``key``, ``value``, ``decoder`` ONNX files, and a
``refine`` graph where the weights have one, with a ``card.json`` giving their SHA-256), checked
and opened with ONNX Runtime."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidseg.errors import InputError
from vidseg.models.cache import sha256_file

GRAPHS = ("key", "value", "decoder")
OPTIONAL_GRAPHS = ("refine",)  # loaded when the card lists them


def shipped_weights_dir() -> Path:
    """The folder of the weights that ship with vidseg."""
    return Path(__file__).resolve().parent / "weights"


def read_card(folder: Path) -> dict[str, Any]:
    """The engine's model card; a missing or unreadable card names the file."""
    path = folder / "card.json"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no trained weights here (card.json missing; `vidseg train-engine`, "
                         "`train-auto` and `train-clicks` make them)", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable model card ({exc})", path) from exc
    if not isinstance(card, dict) or not isinstance(card.get("files"), dict):
        raise InputError("model card has no 'files' table", path)
    return card


def verified_graph_paths(folder: Path, graphs: tuple[str, ...] = GRAPHS) -> dict[str, Path]:
    """Each graph's path (``folder/<name>.onnx`` for each of ``graphs``) after checking its
    SHA-256 against the card."""
    card = read_card(folder)
    out = {}
    for name in graphs:
        path = folder / f"{name}.onnx"
        expected = card["files"].get(path.name)
        if not path.is_file():
            raise InputError("weights file missing", path)
        actual = sha256_file(path)
        if expected != actual:
            raise InputError(f"SHA-256 differs from the model card ({str(expected)[:12]}... expected, "
                             f"{actual[:12]}... found): the weights file is damaged or replaced", path)
        out[name] = path
    return out


def ort_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session with ``threads`` threads per operator."""
    import onnxruntime as ort

    from vidseg.models.backends import ort_session_options

    opts = ort_session_options(ort, threads)
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises its own types
        raise InputError(f"ONNX Runtime cannot load it ({type(exc).__name__})", path) from exc


@dataclass
class EngineGraphs:
    """Open sessions of the graphs (``refine`` is None for weights without a refiner)."""

    key: Any
    value: Any
    decoder: Any
    refine: Any = None

    @classmethod
    def load(cls, folder: str | Path | None = None, threads: int = 2) -> EngineGraphs:
        paths = engine_graph_paths(folder)
        return cls(**{name: ort_session(p, threads) for name, p in paths.items()})


def engine_graph_paths(folder: str | Path | None = None) -> dict[str, Path]:
    """The paths of a trained engine's graphs (the shipped one's without ``folder``), the optional
    ones its card lists included, each checked against the card's SHA-256."""
    where = Path(folder) if folder else shipped_weights_dir()
    listed = read_card(where)["files"]
    return verified_graph_paths(where, GRAPHS + tuple(g for g in OPTIONAL_GRAPHS if f"{g}.onnx" in listed))
