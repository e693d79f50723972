"""Semi-supervised video object segmentation: follow objects from masks given on some frames."""

from vidseg.vos.config import PRESETS, TrackerConfig, get_preset
from vidseg.vos.prompts import load_prompts
from vidseg.vos.session import TrackingSession
from vidseg.vos.tracker import VideoObjectTracker

__all__ = ["PRESETS", "TrackerConfig", "TrackingSession", "VideoObjectTracker", "get_preset",
           "load_prompts"]
