"""vidseg.io: read any video source, write masks, RLE, overlays and videos, atomically."""

from vidseg.io.frames import Frame, VideoInfo
from vidseg.io.overlay import draw_overlay
from vidseg.io.palette import PALETTE, davis_palette, read_mask, write_mask
from vidseg.io.reader import VideoReader, open_video
from vidseg.io.writers import MaskFolderWriter, MaskVideoWriter, OverlayVideoWriter, RleWriter

__all__ = [
    "PALETTE",
    "Frame",
    "MaskFolderWriter",
    "MaskVideoWriter",
    "OverlayVideoWriter",
    "RleWriter",
    "VideoInfo",
    "VideoReader",
    "davis_palette",
    "draw_overlay",
    "open_video",
    "read_mask",
    "write_mask",
]
