"""Unsupervised video object segmentation: find the video's main object(s) with no prompt
(a trained primary-object head on the backbone's features, chosen over the whole clip from key
frames) and follow them with a tracking engine. See :mod:`vidseg.vos.auto.session`."""

from vidseg.vos.auto.discover import Discovery, FoundObject, discover, key_frame_indices
from vidseg.vos.auto.fused import SalienceFusedTracker
from vidseg.vos.auto.head import MainObjectHead, SaliencyMapper, shipped_head_dir
from vidseg.vos.auto.job import AutoRun, auto_track_video
from vidseg.vos.auto.session import AutoConfig, AutoReport, AutoTrackingSession

__all__ = ["AutoConfig", "AutoReport", "AutoRun", "AutoTrackingSession", "Discovery", "FoundObject",
           "MainObjectHead", "SalienceFusedTracker", "SaliencyMapper", "auto_track_video", "discover",
           "key_frame_indices", "shipped_head_dir"]
