"""Random access to a video's frames for the annotation page: a small LRU cache over a reader.

A container seeks to the keyframe before a frame and decodes forward; the cache keeps the last
frames asked for (and their JPEG encodings) so scrubbing back and forth is instant.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from vidseg.annotate.project import SourceInfo
from vidseg.errors import FrameIndexError, InputError
from vidseg.io.reader import open_video
from vidseg.io.source import VideoReader

CACHE_FRAMES = 48
JPEG_QUALITY = 90


class FrameStore:
    """Frames of ``source`` (a video file or a folder of frames) by index, thread-safe."""

    def __init__(self, source: str | Path, *, cache: int = CACHE_FRAMES) -> None:
        self.path = str(source)
        self._reader: VideoReader = open_video(source)
        if self._reader.info.kind == "stream":
            self._reader.close()
            raise InputError("a live stream cannot be annotated (it has no random access); record it first",
                             source)
        self.count = len(self._reader)
        if self.count <= 0:
            self._reader.close()
            raise InputError("the video has no frames", source)
        self.width, self.height = self._reader.info.width, self._reader.info.height
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._jpeg: OrderedDict[int, bytes] = OrderedDict()
        self._size = cache
        self._stems: dict[int, str] = {}

    def image(self, index: int) -> np.ndarray:
        """Frame ``index`` as HxWx3 RGB uint8 (do not modify it: it is shared with the cache)."""
        if not 0 <= index < self.count:
            raise FrameIndexError(f"frame {index} is outside 0..{self.count - 1}")
        with self._lock:
            hit = self._cache.get(index)
            if hit is not None:
                self._cache.move_to_end(index)
                return hit
            frame = self._reader.read(index)
            self._stems[index] = frame.stem
            img = frame.image
            img.setflags(write=False)
            self._cache[index] = img
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
            return img

    def jpeg(self, index: int) -> bytes:
        """Frame ``index`` encoded as JPEG (cached)."""
        with self._lock:
            hit = self._jpeg.get(index)
            if hit is not None:
                self._jpeg.move_to_end(index)
                return hit
        img = self.image(index)
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise InputError(f"cannot encode frame {index} as JPEG", self.path)
        data = buf.tobytes()
        with self._lock:
            self._jpeg[index] = data
            while len(self._jpeg) > self._size:
                self._jpeg.popitem(last=False)
        return data

    def source_info(self) -> SourceInfo:
        """What identifies this video (its size, length and a digest of a few frames)."""
        digest = hashlib.sha256()
        for t in sorted({0, self.count // 2, self.count - 1}):
            small = cv2.resize(self.image(t), (32, 18), interpolation=cv2.INTER_AREA)
            digest.update((small // 16).tobytes())  # coarse: robust to decoder rounding
        return SourceInfo(path=str(Path(self.path).resolve()), frames=self.count, width=self.width,
                          height=self.height, fingerprint=digest.hexdigest()[:16])

    def close(self) -> None:
        with self._lock:
            self._reader.close()
            self._cache.clear()
            self._jpeg.clear()
