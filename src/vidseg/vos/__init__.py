"""Semi-supervised video object segmentation: follow objects from masks given on some frames.

``make_tracker(name)`` gives a stepping tracker for an engine name (``fast``, ``default``,
``accurate``: the bilateral-grid engine :class:`BgridTracker`); :class:`TrackingSession` runs one
over a video from masks given on chosen frames.
"""

from vidseg.vos.bgrid import BgridConfig, BgridTracker
from vidseg.vos.engines import Tracker, engine_names, make_tracker
from vidseg.vos.prompts import load_prompts
from vidseg.vos.session import TrackingSession

__all__ = ["BgridConfig", "BgridTracker", "Tracker", "TrackingSession", "engine_names", "load_prompts",
           "make_tracker"]
