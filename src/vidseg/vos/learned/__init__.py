"""The learned tracking engine (the shipped default): memory matching on frozen EfficientNet-Lite0
features with a trained value encoder and mask decoder, run with ONNX Runtime."""

from vidseg.vos.learned.config import LEARNED_PRESETS, LearnedConfig, get_learned_preset
from vidseg.vos.learned.tracker import LearnedTracker

__all__ = ["LEARNED_PRESETS", "LearnedConfig", "LearnedTracker", "get_learned_preset"]
