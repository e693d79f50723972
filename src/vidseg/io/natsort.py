"""Natural sort order for frame file names: ``frame2`` before ``frame10``."""

from __future__ import annotations

import re
from pathlib import Path

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str | Path) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders runs of digits by value and the rest case-insensitively."""
    text = name.name if isinstance(name, Path) else str(name)
    parts = _DIGITS.split(text)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts if p)


def natural_sorted(names: list[Path]) -> list[Path]:
    """``names`` sorted in natural order (ties broken by the plain name)."""
    return sorted(names, key=lambda p: (natural_key(p), p.name))
