"""Per-frame segmentation with a model: semantic and instance, identities, smoothing, effects."""

from vidseg.segment.effects import Effect
from vidseg.segment.identity import IdentityTracker
from vidseg.segment.job import Outputs, RunReport, segment_video
from vidseg.segment.segmenter import Segmenter, SegmentOptions, SegResult
from vidseg.segment.smoothing import TemporalSmoother

__all__ = ["Effect", "IdentityTracker", "Outputs", "RunReport", "SegResult", "SegmentOptions", "Segmenter",
           "TemporalSmoother", "segment_video"]
