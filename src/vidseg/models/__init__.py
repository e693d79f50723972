"""Segmentation models: cards, the registry, ONNX Runtime / LiteRT backends, verified downloads."""

from vidseg.models.card import ModelCard, load_card
from vidseg.models.fetch import download, ensure_model
from vidseg.models.model import Letterbox, Model, load_model
from vidseg.models.registry import known_models, resolve

__all__ = ["Letterbox", "Model", "ModelCard", "download", "ensure_model", "known_models", "load_card",
           "load_model", "resolve"]
