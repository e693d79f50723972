"""The classical engine: motion-compensated bilateral-grid label transfer (no learned weights).

:class:`ClassicalTracker` implements the stepping contract of :mod:`vidseg.vos.stepping`;
:class:`ClassicalConfig` holds its settings (``ClassicalConfig(...).make_tracker()``) and
:data:`CLASSICAL_PRESETS` the named ones (``fast``, ``default``, ``accurate``).
"""

from vidseg.vos.classical.config import CLASSICAL_PRESETS, ClassicalConfig, get_classical_preset
from vidseg.vos.classical.tracker import ClassicalTracker

__all__ = ["CLASSICAL_PRESETS", "ClassicalConfig", "ClassicalTracker", "get_classical_preset"]
