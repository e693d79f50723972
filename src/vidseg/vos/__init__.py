"""Semi-supervised video object segmentation: follow objects from masks given on some frames.

``make_tracker(name)`` gives a stepping tracker for an engine name (see :mod:`vidseg.vos.engines`;
every engine follows the contract of :mod:`vidseg.vos.stepping`); :class:`TrackingSession` runs
one over a video, forward and backward, from masks given on chosen frames.
"""

from vidseg.vos.classical import ClassicalConfig, ClassicalTracker
from vidseg.vos.engines import Tracker, engine_descriptions, engine_names, make_tracker
from vidseg.vos.health import ObjectHealth, TrackingReport
from vidseg.vos.learned import LearnedConfig, LearnedTracker
from vidseg.vos.objects import ObjectManager
from vidseg.vos.prompts import load_prompts
from vidseg.vos.session import Direction, TrackingSession
from vidseg.vos.stepping import SteppingTracker

__all__ = ["ClassicalConfig", "ClassicalTracker", "Direction", "LearnedConfig", "LearnedTracker", "ObjectHealth", "ObjectManager", "SteppingTracker",
           "Tracker", "TrackingReport", "TrackingSession", "engine_descriptions", "engine_names", "load_prompts",
           "make_tracker"]
