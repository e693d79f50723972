"""Loading the given masks (prompts): one PNG for one frame, or a folder of PNGs named like frames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.io.palette import read_mask
from vidseg.io.source import VideoReader

ASPECT_TOLERANCE = 0.01


def load_prompts(path: str | Path, stems: Sequence[str] | None, frame_size: tuple[int, int], *,
                 frame: int | None = None, warn: Callable[[str], None] | None = None) -> dict[int, np.ndarray]:
    """The given masks as ``{frame_index: HxW uint8 ids}``.

    ``path`` is a PNG given on frame ``frame`` (default 0) or a folder of PNGs named like the frame
    ``stems`` (YouTube-VOS convention: each gives the objects on its frame); ``stems`` is None when
    the frame count is unknown (a live stream): masks are then named by frame number and no index
    is too large. ``frame_size`` is the
    frames' ``(height, width)``. A mask whose size differs but whose aspect ratio agrees within 1%
    is resized with nearest neighbour (``warn`` is told); anything else raises :class:`InputError`.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("mask file or folder not found", p)
    if p.is_dir():
        if frame is not None:
            raise InputError("--frame applies to a single mask file, not a folder", p)
        files = sorted(f for f in p.iterdir() if f.suffix.lower() == ".png" and not f.name.startswith("."))
        if not files:
            raise InputError("no PNG masks in the folder", p)
        index = _stem_index(stems) if stems is not None else None
        out: dict[int, np.ndarray] = {}
        for f in files:
            if index is None:
                i = int(f.stem) if f.stem.isdigit() else None
            else:
                i = index.get(f.stem)
                if i is None and f.stem.isdigit():
                    i = index.get(str(int(f.stem)))
            if i is None:
                raise InputError(f"mask matches no frame (no frame is named {f.stem!r})", f)
            out[i] = _load_one(f, frame_size, warn)
        return out
    i = 0 if frame is None else int(frame)
    if i < 0 or (stems is not None and i >= len(stems)):
        n = 0 if stems is None else len(stems)
        raise InputError(f"mask is given for frame {i} but the video has {n} frames (0..{n - 1})", p)
    return {i: _load_one(p, frame_size, warn)}


def _stem_index(stems: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, s in enumerate(stems):
        index.setdefault(s, i)
        if s.isdigit():
            index.setdefault(str(int(s)), i)
    return index


def _load_one(path: Path, frame_size: tuple[int, int], warn: Callable[[str], None] | None) -> np.ndarray:
    mask = read_mask(path)
    mask = fit_mask(mask, frame_size, path, warn)
    if not mask.any():
        raise InputError("mask is empty (no object pixels)", path)
    return mask


def fit_mask(mask: np.ndarray, frame_size: tuple[int, int], path: str | Path | None = None,
             warn: Callable[[str], None] | None = None) -> np.ndarray:
    """``mask`` at ``frame_size`` (height, width): resized with nearest neighbour when only the size
    differs (aspect ratios within 1%), else :class:`InputError` naming both sizes."""
    fh, fw = int(frame_size[0]), int(frame_size[1])
    mh, mw = mask.shape[:2]
    if (mh, mw) == (fh, fw):
        return mask
    if abs((mw / mh) / (fw / fh) - 1.0) > ASPECT_TOLERANCE:
        raise InputError(f"mask is {mw}x{mh} but the frames are {fw}x{fh} (different aspect ratio)", path)
    if warn is not None:
        where = f"{path}: " if path is not None else ""
        warn(f"{where}mask is {mw}x{mh} but the frames are {fw}x{fh}; resized (nearest neighbour)")
    return cv2.resize(mask, (fw, fh), interpolation=cv2.INTER_NEAREST)


def load_video_prompts(reader: VideoReader, path: str | Path, *, frame: int | None = None,
                       warn: Callable[[str], None] | None = None) -> dict[int, np.ndarray]:
    """:func:`load_prompts` for an open video: its frame stems (file stems for a frame folder,
    ``00000``, ``00001``, ... for a video; none for a live stream, whose masks name their frame
    by number) and frame size come from ``reader``."""
    from vidseg.io.folder import FolderReader

    info = reader.info
    stems: list[str] | None = [f.stem for f in reader.files] if isinstance(reader, FolderReader) else [
        f"{i:05d}" for i in range(len(reader))]
    if info.frame_count is None:
        stems = None
    return load_prompts(path, stems, (info.height, info.width), frame=frame, warn=warn)
