"""Per-frame label maps kept on disk for a while (a temporary folder of lossless PNGs), so that a
pass over a video of any length holds none of them in memory."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from vidseg.errors import ArgumentError, OutputError
from vidseg.io.atomic import make_temp_dir

SPILL_PREFIX = "vidseg-labels-"


class LabelSpill:
    """A temporary folder of HxW uint8 label maps by frame index, removed by :meth:`close`.

    Use as a context manager. ``folder`` is where the temporary folder goes (default: the
    system's temporary folder); folders that killed runs left there are removed first.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.path = make_temp_dir(SPILL_PREFIX, folder)
        self._indices: set[int] = set()

    def _file(self, index: int) -> Path:
        return self.path / f"{index:08d}.png"

    def put(self, index: int, labels: np.ndarray) -> None:
        """Keep ``labels`` (HxW uint8) for frame ``index`` (replacing any kept before)."""
        if labels.ndim != 2 or labels.dtype != np.uint8:
            raise ArgumentError(f"labels must be HxW uint8, got {labels.dtype} {labels.shape}")
        if not cv2.imwrite(str(self._file(index)), labels, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OutputError("cannot write a temporary label map (disk full?)", self._file(index))
        self._indices.add(index)

    def get(self, index: int) -> np.ndarray | None:
        """The labels kept for frame ``index``, or None."""
        if index not in self._indices:
            return None
        labels = cv2.imread(str(self._file(index)), cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise OutputError("a temporary label map went missing", self._file(index))
        return np.asarray(labels, np.uint8)

    def __contains__(self, index: object) -> bool:
        return index in self._indices

    def __len__(self) -> int:
        return len(self._indices)

    def close(self) -> None:
        """Remove the folder and everything kept."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._indices.clear()

    def __enter__(self) -> LabelSpill:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
