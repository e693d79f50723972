"""A second, independent propagation engine: motion-compensated bilateral-grid label transfer."""

from vidseg.vos.bgrid.config import BGRID_PRESETS, BgridConfig, get_bgrid_preset
from vidseg.vos.bgrid.tracker import BgridTracker

__all__ = ["BGRID_PRESETS", "BgridConfig", "BgridTracker", "get_bgrid_preset"]
