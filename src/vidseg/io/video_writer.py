"""Encode frames to a video at the source's exact timestamps, with the source's audio.

The file is written under a temporary name and renamed when :meth:`close` completes; an error
inside the ``with`` block deletes the temporary instead. Frames are encoded as they come, so
memory stays flat however long the video is.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import cv2
import numpy as np

from vidseg.errors import ArgumentError, DecodeError, OutputError
from vidseg.io.atomic import atomic_path, keeps_partial
from vidseg.io.audio import AudioCopier
from vidseg.io.frames import Frame
from vidseg.io.palette import PALETTE
from vidseg.io.source import DEFAULT_FPS, VideoReader

_PRESET_CODECS = frozenset({"libx264", "libx264rgb", "libx265"})
# containers that store no timestamp per frame: frames are played one per 1/fps, in stored order
CFR_SUFFIXES = frozenset({".avi"})
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"})


def even_size(image: np.ndarray) -> np.ndarray:
    """Pad an odd width/height by one replicated column/row (yuv420p needs even sizes)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)


class OverlayVideoWriter:
    """Encode one RGB picture per source frame, at that frame's pts, copying the source audio.

    ``source`` gives the time base, frame rate and audio; without it frames are timed by
    ``fps`` (default: the source's, else 30). Odd sizes are padded by one pixel to even.
    ``gop`` is the keyframe interval (default about 2 s of frames). Audio is stream-copied; for
    .mp4 a codec players do not take there (pcm, vorbis, ...) is transcoded to AAC.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        source: VideoReader | None = None,
        fps: Fraction | None = None,
        force: bool = False,
        audio: bool = True,
        codec: str = "libx264",
        crf: int = 20,
        preset: str = "veryfast",
        pix_fmt: str = "yuv420p",
        gop: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        self._tmp: Path = self._stack.enter_context(atomic_path(self.path, force=force))
        info = source.info if source is not None else None
        rate = Fraction(fps) if fps is not None else (info.fps if info is not None and info.fps else DEFAULT_FPS)
        self.fps = rate
        # AVI keeps no timestamps: a constant rate of 1/fps ticks, no B-frames (no reordering)
        self._cfr = self.path.suffix.lower() in CFR_SUFFIXES
        if self._cfr:
            self.fps = rate = Fraction(rate).limit_denominator(1001)
        self.time_base = (1 / rate if self._cfr or info is None or not info.time_base else info.time_base)
        self._codec, self._crf, self._preset, self._pix_fmt = codec, crf, preset, pix_fmt
        # a keyframe every ~2 s keeps the output quick to seek in (x264 would wait 250 frames)
        self._gop = gop if gop is not None else max(1, round(2 * float(rate)))
        self._audio_src: tuple[str, int] | None = None
        a_idx = getattr(source, "audio_stream_index", None)
        if audio and info is not None and info.kind == "container" and a_idx is not None:
            self._audio_src = (info.path, int(a_idx))
        # MP4 muxes nearly any codec, but players only know these; anything else becomes AAC
        self._must_transcode = (
            self.path.suffix.lower() in (".mp4", ".m4v") and info is not None
            and info.audio_codec not in MP4_AUDIO_CODECS
        )
        self._out: Any = None
        self._vs: Any = None
        self._audio: AudioCopier | None = None
        self._size: tuple[int, int] | None = None
        self._last_pts: int | None = None
        self.frames_written = 0
        self._closed = False
        self._probe()

    # -- setup --------------------------------------------------------------------------------
    def _probe(self) -> None:
        """Fail now, not after the first frame, when the container cannot take the codec."""
        try:
            probe = av.open(str(self._tmp), "w", format=None if self.path.suffix else "mp4")
            try:
                probe.add_stream(self._codec, rate=self.fps)
            finally:
                probe.close()
        except (av.FFmpegError, ValueError) as exc:
            err = OutputError(
                f"cannot write {self._codec} video here ({exc}); use .mp4, .mkv or .mov, "
                "or pass a codec this container takes", self.path,
            )
            with contextlib.suppress(OutputError):
                self._stack.__exit__(OutputError, err, None)
            self._closed = True
            raise err from exc

    def _open(self, h: int, w: int) -> None:
        self._size = (h, w)
        try:
            self._open_container(h, w, transcode_audio=self._must_transcode)
        except (av.FFmpegError, ValueError) as exc:
            if self._audio is None:
                self._fail(exc)
            self._discard_container()
            try:
                self._open_container(h, w, transcode_audio=True)
            except (av.FFmpegError, ValueError) as exc2:
                self._fail(exc2)

    def _fail(self, exc: Exception) -> None:
        self._discard_container()
        raise OutputError(f"cannot encode {self._codec} into this container ({exc})", self.path) from exc

    def _open_container(self, h: int, w: int, *, transcode_audio: bool) -> None:
        fmt = None if self.path.suffix else "mp4"
        out = av.open(str(self._tmp), "w", format=fmt)
        self._out = out
        vs: Any = out.add_stream(self._codec, rate=self.fps)
        vs.width, vs.height = w + w % 2, h + h % 2
        vs.pix_fmt = self._pix_fmt
        if self._pix_fmt == "yuv420p":  # say what the pixels are: BT.601, limited range
            cc = vs.codec_context
            cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 6, 6, 6, 1
        vs.time_base = self.time_base
        vs.codec_context.time_base = self.time_base
        if self._codec in _PRESET_CODECS:
            vs.options = {"crf": str(self._crf), "preset": self._preset, "g": str(self._gop)}
        if self._cfr:
            vs.codec_context.max_b_frames = 0
        self._vs = vs
        if self._audio_src is not None:
            self._audio = AudioCopier(*self._audio_src, out, transcode=transcode_audio)
        out.start_encoding()

    def _discard_container(self) -> None:
        if self._audio is not None:
            self._audio.abort()
            self._audio = None
        if self._out is not None:
            with contextlib.suppress(Exception):
                self._out.close()
            self._out = None

    # -- writing ------------------------------------------------------------------------------
    def _pts_for(self, frame: Frame) -> int:
        tb = self.time_base
        if self._cfr:  # one tick per frame: the frame's time in frames of the output's rate
            pts = int(round(Fraction(frame.time).limit_denominator(10**9) * self.fps))
        elif frame.pts is not None and frame.time_base is not None:
            pts = int(frame.pts) if frame.time_base == tb else int(round(frame.pts * frame.time_base / tb))
        elif frame.time_base is None and frame.pts is None and tb == 1 / self.fps:
            pts = frame.index
        else:
            pts = int(round(Fraction(frame.time).limit_denominator(10**9) / tb))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def _video_frame(self, image: np.ndarray) -> av.VideoFrame:
        if self._pix_fmt == "yuv420p":  # OpenCV's BT.601 conversion: ~10x faster than swscale
            yuv = np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)
            return av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")

    def write_frame(self, frame: Frame, image: np.ndarray) -> None:
        """Encode ``image`` (HxWx3 RGB uint8) at ``frame``'s presentation time."""
        if self._closed:
            raise ArgumentError("writer is closed")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ArgumentError(f"expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        if self._size is None:
            self._open(h, w)
        elif (h, w) != self._size:
            raise ArgumentError(f"frame size {w}x{h} differs from the first frame's {self._size[1]}x{self._size[0]}")
        vf = self._video_frame(even_size(image))
        vf.pts = self._pts_for(frame)
        vf.time_base = self.time_base
        try:
            if self._audio is not None:
                self._audio.feed_until(float(vf.pts * self.time_base))
            for pkt in self._vs.encode(vf):
                self._out.mux(pkt)
        except av.FFmpegError as exc:
            raise OutputError(f"encoding failed at frame {frame.index} ({exc})", self.path) from exc
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, finish the audio, and move the file into place."""
        if self._closed:
            return
        self._closed = True
        if self._out is None:
            self._stack.__exit__(OutputError, OutputError("no frames"), None)
            raise OutputError("no frames were written", self.path)
        try:
            self._finish_container()
        except BaseException as exc:
            self._discard_container()
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            if isinstance(exc, av.FFmpegError):
                raise OutputError(f"finishing the video failed ({exc})", self.path) from exc
            raise
        self._out = None
        self._stack.close()

    def _finish_container(self) -> None:
        """Flush the encoder and the audio, then close the container."""
        assert self._out is not None
        for pkt in self._vs.encode(None):
            self._out.mux(pkt)
        if self._audio is not None:
            self._audio.finish()
        self._out.close()

    def abort(self) -> None:
        """Stop and delete the temporary file; nothing is left at ``path``."""
        if self._closed:
            return
        self._closed = True
        self._discard_container()
        err = OutputError("aborted", self.path)
        with contextlib.suppress(OutputError):
            self._stack.__exit__(OutputError, err, None)

    def __enter__(self) -> OverlayVideoWriter:
        return self

    def keep_partial(self, exc: BaseException) -> None:
        """Finish the video encoded so far and keep it under ``partial_path(path)`` (listed in
        ``exc``, the :class:`~vidseg.errors.DecodeError` that cut the run short)."""
        if self._closed:
            return
        if self._out is None:
            self.abort()
            return
        self._closed = True
        try:
            self._finish_container()
        except Exception:  # noqa: BLE001 - the partial video is a courtesy; the error is reported anyway
            self._discard_container()
            self._stack.__exit__(OutputError, OutputError("aborted"), None)
            return
        self._out = None
        with contextlib.suppress(DecodeError):
            self._stack.__exit__(type(exc), exc, exc.__traceback__)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        elif exc is not None and keeps_partial(exc):
            self.keep_partial(exc)
        else:
            self.abort()


class MaskVideoWriter(OverlayVideoWriter):
    """A video of the label maps: ``mode="palette"`` colours ids with the DAVIS palette,
    ``mode="grey"`` writes the id as the grey level (exact only with a lossless codec)."""

    def __init__(self, path: str | Path, *, mode: str = "palette", audio: bool = False, **kwargs: Any) -> None:
        if mode not in ("palette", "grey"):
            raise ArgumentError(f"mode must be 'palette' or 'grey', not {mode!r}")
        super().__init__(path, audio=audio, **kwargs)
        self.mode = mode

    def write(self, frame: Frame, labels: np.ndarray) -> None:
        """Encode the HxW uint8 label map of ``frame``."""
        lab = np.asarray(labels)
        if lab.ndim != 2:
            raise ArgumentError(f"label map must be 2-D, got shape {lab.shape}")
        lab = lab.astype(np.uint8, copy=False)
        img = PALETTE[lab] if self.mode == "palette" else np.repeat(lab[:, :, None], 3, axis=2)
        self.write_frame(frame, img)
