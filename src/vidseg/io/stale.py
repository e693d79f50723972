"""Remove temporaries that an interrupted run left for one particular output."""

from __future__ import annotations

import contextlib
from pathlib import Path

from vidseg.io.atomic import TMP_PREFIX


def clean_stale_for(path: str | Path) -> int:
    """Delete ``<folder>/.vidseg-tmp-<name>.*`` left beside ``path`` by a crashed run (only the
    temporaries of this output, so other outputs being written in the folder are untouched).
    Returns how many were removed."""
    p = Path(path)
    n = 0
    if p.parent.is_dir():
        for f in p.parent.glob(f"{TMP_PREFIX}{p.name}.*"):
            with contextlib.suppress(OSError):
                f.unlink()
                n += 1
    return n
