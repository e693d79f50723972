"""Video containers (mp4, mkv, webm, mov, avi, ...) and live streams (URLs, cameras) via PyAV.

A file is scanned once at open (demux only, no decoding) for the presentation timestamps and
keyframes of every frame: that gives an exact frame count, variable-frame-rate detection and
random access by index (seek to the keyframe before, decode forward). A live stream is not
scanned: it streams forward only and its frame count is unknown.
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np

from vidseg.errors import DecodeError, InputError
from vidseg.io.frames import Frame, VideoInfo
from vidseg.io.prefetch import prefetch
from vidseg.io.source import DEFAULT_FPS, VideoReader

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp", "hls")
DEVICE_FORMATS = ("v4l2", "avfoundation", "dshow", "x11grab", "gdigrab", "lavfi")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
LIVE_TIMEOUT_S = 15.0
PREFETCH_DEPTH = 4  # frames decoded ahead of the consumer
RECENT = 8  # decoded frames kept for read(): cheap scrubbing backwards


def live_source(source: str) -> tuple[str, str | None] | None:
    """``(url, format)`` when ``source`` is a URL or camera device rather than a file, else None.

    Devices: ``/dev/videoN`` (v4l2) or ``FORMAT:NAME`` with FORMAT one of :data:`DEVICE_FORMATS`.
    """
    m = _URL.match(source)
    if m and m.group(1).lower() in URL_SCHEMES:
        return source, None
    if re.fullmatch(r"/dev/video\d+", source):
        return source, "v4l2"
    fmt, sep, name = source.partition(":")
    if sep and fmt in DEVICE_FORMATS and name:
        return name, fmt
    return None


def _rotate(img: np.ndarray, rotation: int) -> np.ndarray:
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(img, k)) if k else img


_BT601 = frozenset({2, 5, 6})  # unspecified, bt470bg, smpte170m: what cv2's I420 conversion uses


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """An HxWx3 RGB array. BT.601 limited-range yuv420p (the usual case) is converted with OpenCV,
    about twice as fast as swscale; anything else goes through PyAV's ``to_ndarray``."""
    w, h = frame.width, frame.height
    if (
        frame.format.name == "yuv420p" and w % 2 == 0 and h % 2 == 0
        and int(frame.colorspace) in _BT601 and int(frame.color_range) != 2
    ):
        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def _frame_rotation(frame: av.VideoFrame) -> int:
    try:
        return int(round(frame.rotation / 90.0)) * 90 % 360
    except (AttributeError, ValueError, TypeError):
        return 0


@dataclass(frozen=True)
class _Scan:
    count: int  # video packets (= frames)
    pts: np.ndarray | None  # int64, presentation order; None when timestamps are missing/duplicated
    key_pts: np.ndarray | None  # int64, sorted keyframe pts


def _scan(path: str, stream_index: int) -> _Scan:
    """Demux every video packet (no decoding): count, timestamps and keyframes."""
    pts: list[int] = []
    keys: list[int] = []
    count = 0
    missing = False
    with av.open(path) as c:
        s = c.streams[stream_index]
        try:
            for pkt in c.demux(s):
                if pkt.size == 0 or pkt.is_discard:
                    continue
                count += 1
                if pkt.pts is None:
                    missing = True
                    continue
                pts.append(int(pkt.pts))
                if pkt.is_keyframe:
                    keys.append(int(pkt.pts))
        except av.FFmpegError:
            pass  # a truncated/corrupt tail: count what could be demuxed; decoding reports it
    arr = np.unique(np.asarray(pts, dtype=np.int64))
    if missing or arr.size != count or count == 0:
        return _Scan(count, None, None)  # random access then decodes forward from the start
    key_arr = np.unique(np.asarray(keys, dtype=np.int64)) if keys else arr[:1]
    return _Scan(count, arr, key_arr)


def _header_duration(container: Any, stream: Any) -> float | None:
    if stream.duration:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION")
    if tag:
        m = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", tag.strip())
        if m:
            return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return None


def _open(path: str, fmt: str | None, live: bool) -> Any:
    try:
        if live:
            return av.open(path, format=fmt, timeout=LIVE_TIMEOUT_S)
        return av.open(path)
    except av.EOFError as exc:
        raise InputError("video has no frames (the file ends before any data)", path) from exc
    except av.FFmpegError as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot open as a video: {why} (not a video, or truncated/corrupt)", path) from exc


class ContainerReader(VideoReader):
    """Frames decoded with PyAV. ``stem`` is the 5-digit frame index; ``pts``/``time_base`` exact.

    ``live`` sources (URLs, cameras) are not scanned: no frame count, forward-only ``read``, and
    iteration goes on from the current position over the one connection.
    """

    def __init__(self, path: str, *, live: bool = False, fmt: str | None = None, name: str | None = None) -> None:
        self._url = path
        self._path = name or path  # what messages and info.path call it
        self._live = live
        self._fmt = fmt
        self._container = _open(path, fmt, live)
        cover = getattr(av.stream.Disposition, "attached_pic", 0)
        videos = [v for v in self._container.streams.video if not (int(v.disposition) & int(cover))]
        if not videos:
            kinds = sorted({st.type for st in self._container.streams})
            self._container.close()
            if not kinds:
                raise InputError("video has no frames (no streams at all)", path)
            raise InputError(f"has no video stream (only {', '.join(kinds)})", path)
        vs = videos[0]
        self._si = vs.index
        self._tb = Fraction(vs.time_base) if vs.time_base else None
        self._scan = None if live else _scan(path, self._si)
        if self._scan is not None and self._scan.count == 0:
            self._container.close()
            raise InputError("video has no frames", path)
        self._gen: Iterator[Any] | None = None
        self._next = 0  # index of the frame self._gen yields next
        self._cache: Frame | None = None  # the frame decoded last
        self._recent: OrderedDict[int, Frame] = OrderedDict()  # the last RECENT frames decoded
        first = self._first_frame()
        self._rotation = first[1]
        self._build_info(vs, first[0])

    # -- opening --------------------------------------------------------------------------
    def _first_frame(self) -> tuple[Frame, int]:
        vs = self._container.streams[self._si]
        vs.thread_type = "AUTO"
        self._gen = self._decode_iter(self._container)
        try:
            raw = next(self._gen, None)
        except (_Broken, av.FFmpegError) as exc:
            self._container.close()
            raise DecodeError(f"cannot decode the first frame ({exc})", self._path, frames_done=0) from exc
        if raw is None:
            self._container.close()
            raise InputError("video has no decodable frames", self._path)
        rotation = _frame_rotation(raw)
        self._rotation = rotation
        frame = self._remember(self._to_frame(raw, 0))
        self._next = 1
        return frame, rotation

    def _build_info(self, vs: Any, first: Frame) -> None:
        c = self._container
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = Fraction(rate) if rate else None
        count: int | None = None
        duration: float | None = None
        vfr = False
        self._expected: int | None = None
        if self._scan is not None and self._scan.pts is not None and self._tb is not None:
            pts = self._scan.pts
            count = int(pts.size)
            if count > 1:
                d = np.diff(pts)
                vfr = bool((d.max() - d.min()) * self._tb > Fraction(2, 1000))
                step = float(np.median(d) * self._tb)
                duration = float((pts[-1] - pts[0]) * self._tb) + step
                if fps is None or vfr:
                    fps = Fraction(count - 1) / ((pts[-1] - pts[0]) * self._tb)
                    fps = fps.limit_denominator(1001)
            else:
                duration = float(1 / fps) if fps else None
            hdur = _header_duration(c, vs)
            if int(vs.frames or 0) > count:
                pass  # set below
            elif hdur is not None and duration is not None and fps and duration < hdur - 0.25 - 2 / float(fps):
                self._expected = max(count + 1, int(round(hdur * float(fps))))
        elif self._scan is not None:
            count = self._scan.count
            if c.duration:
                duration = c.duration / 1_000_000
        if count is not None and int(vs.frames or 0) > count:
            self._expected = int(vs.frames)  # the header announces more frames than the file holds
        if duration is not None:
            duration = round(duration, 6)
        audio = list(c.streams.audio)
        a = audio[0] if audio else None
        w, h = first.width, first.height
        cc = vs.codec_context
        self.info = VideoInfo(
            path=self._path, kind="stream" if self._live else "container",
            width=w, height=h, frame_count=count, fps=fps, duration=duration,
            codec=cc.name if cc else None, time_base=self._tb, rotation=self._rotation,
            variable_frame_rate=vfr,
            audio_codec=a.codec_context.name if a is not None else None,
            audio_rate=int(a.codec_context.sample_rate) if a is not None else None,
            audio_channels=int(a.codec_context.channels) if a is not None else None,
        )
        self.expected_frames: int | None = self._expected  # set when the file looks truncated
        self.pixel_format: str | None = cc.pix_fmt if cc else None
        self.audio_stream_index: int | None = a.index if a is not None else None
        self.video_stream_index: int = self._si

    # -- decoding ---------------------------------------------------------------------------
    def _decode_iter(self, container: Any) -> Iterator[Any]:
        """Raw av.VideoFrames (demux ends with a flush packet that drains the decoder); on a broken
        packet, drains what the decoder holds, then raises :class:`_Broken`."""
        vs = container.streams[self._si]
        try:
            for pkt in container.demux(vs):
                yield from vs.decode(pkt)
        except av.FFmpegError as exc:
            with contextlib.suppress(av.FFmpegError):
                yield from vs.decode(None)
            raise _Broken(str(exc)) from exc

    def _to_frame(self, raw: Any, index: int) -> Frame:
        img = to_rgb(raw)
        if self._rotation:
            img = _rotate(img, self._rotation)
        pts = raw.pts
        tb = self._tb
        if pts is not None and tb is not None:
            time = float(pts * tb)
        else:
            fps = getattr(self, "info", None)
            rate = fps.fps if fps is not None and fps.fps else DEFAULT_FPS
            time = float(index / rate)
        return Frame(index=index, time=time, stem=f"{index:05d}", image=img, pts=pts, time_base=tb)

    def __iter__(self) -> Iterator[Frame]:
        # decoding runs a few frames ahead in a thread, overlapping the consumer's work
        if self._live:  # one connection only: go on from where the stream is
            return prefetch(self._iter_live(), depth=PREFETCH_DEPTH)
        return prefetch(self._iter_frames(), depth=PREFETCH_DEPTH)

    def _iter_live(self) -> Iterator[Frame]:
        if self._cache is not None and self._cache.index == self._next - 1:
            yield self._cache
        while self._gen is not None:
            try:
                raw = next(self._gen, None)
            except (_Broken, av.FFmpegError) as exc:
                self._gen = None
                raise DecodeError(f"stream broke at frame {self._next} ({exc})", self._path,
                                  frames_done=self._next) from None
            if raw is None:
                self._gen = None
                return
            frame = self._remember(self._to_frame(raw, self._next))
            self._next += 1
            yield frame

    def _iter_frames(self) -> Iterator[Frame]:
        container = _open(self._url, self._fmt, self._live)
        n = 0
        try:
            container.streams[self._si].thread_type = "AUTO"
            try:
                for raw in self._decode_iter(container):
                    yield self._to_frame(raw, n)
                    n += 1
            except (_Broken, av.FFmpegError) as exc:
                raise DecodeError(
                    f"video broke at frame {n} ({exc}); {n} frames were decoded", self._path, frames_done=n
                ) from None
            if self._expected is not None and n < self._expected:
                raise DecodeError(
                    f"video ends at frame {n} but its header announces about {self._expected} "
                    f"(truncated file); {n} frames were decoded", self._path, frames_done=n,
                )
            if n == 0:
                raise InputError("video has no frames", self._path)
        finally:
            container.close()

    # -- random access ------------------------------------------------------------------------
    def _index_of(self, raw: Any) -> int | None:
        if self._scan is None or self._scan.pts is None or raw.pts is None:
            return None
        i = int(np.searchsorted(self._scan.pts, raw.pts))
        if i < self._scan.pts.size and self._scan.pts[i] == raw.pts:
            return i
        return None

    def _next_raw(self) -> Any:
        """The next decoded frame; DecodeError naming the frame where the video broke or ended."""
        assert self._gen is not None
        try:
            raw = next(self._gen, None)
        except (_Broken, av.FFmpegError) as exc:
            self._gen = None
            raise DecodeError(f"video broke at frame {self._next} ({exc})", self._path, frames_done=self._next) from None
        if raw is None:
            self._gen = None
            raise DecodeError(f"video ends before frame {self._next}", self._path, frames_done=self._next)
        return raw

    def _advance(self) -> Frame:
        raw = self._next_raw()
        idx = self._index_of(raw)
        if idx is None:
            if self._next < 0:
                self._gen = None
                raise _Lost
            idx = self._next
        self._next = idx + 1
        return self._remember(self._to_frame(raw, idx))

    def _seek_to(self, key_pts: int) -> None:
        vs = self._container.streams[self._si]
        self._container.seek(int(key_pts), stream=vs, backward=True, any_frame=False)
        self._gen = self._decode_iter(self._container)
        self._next = -1  # unknown until a frame is decoded

    def _remember(self, frame: Frame) -> Frame:
        self._cache = frame
        self._recent[frame.index] = frame
        self._recent.move_to_end(frame.index)
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return frame

    def read(self, index: int) -> Frame:
        """Frame ``index``: from the recent-frames cache, by decoding forward when the target is in
        the current GOP, else by seeking to the keyframe before it."""
        hit = self._recent.get(index)
        if hit is not None:
            return hit
        if self._live:
            if index < self._next:
                raise InputError(f"cannot go back to frame {index} in a live stream", self._path)
            while True:
                f = self._advance()
                if f.index >= index:
                    return f
        n = len(self)
        if not 0 <= index < n:
            raise IndexError(f"frame {index} out of range 0..{n - 1}")
        if self._scan is None or self._scan.pts is None or self._scan.key_pts is None:
            return self._read_sequential(index)
        pts = self._scan.pts
        keys = self._scan.key_pts
        target = int(pts[index])
        k = max(0, int(np.searchsorted(keys, target, side="right")) - 1)
        forward_ok = (
            self._gen is not None and 0 <= self._next <= index and int(keys[k]) <= int(pts[self._next])
        )
        tries = 0
        while True:
            if not forward_ok:
                try:
                    self._seek_to(int(keys[k]))
                except av.FFmpegError:  # not seekable after all: decode forward from the start
                    return self._read_sequential(index)
            forward_ok = False
            try:
                f = self._advance()
                while f.index < index:
                    f = self._advance()
            except _Lost:
                return self._read_sequential(index)
            if f.index == index:
                return f
            # landed past the target (open GOP): seek one keyframe earlier, else decode from 0
            tries += 1
            if k == 0 or tries > 3:
                return self._read_sequential(index)
            k -= 1

    def _read_sequential(self, index: int) -> Frame:
        if self._gen is None or self._next < 0 or self._next > index:
            # reopen rather than seek: raw streams (.h264) cannot seek
            self._gen = None
            self._container.close()
            self._container = _open(self._url, self._fmt, self._live)
            self._container.streams[self._si].thread_type = "AUTO"
            self._gen = self._decode_iter(self._container)
            self._next = 0
        f = self._advance_counting()
        while f.index < index:
            f = self._advance_counting()
        return f

    def _advance_counting(self) -> Frame:
        raw = self._next_raw()
        frame = self._remember(self._to_frame(raw, self._next))
        self._next += 1
        return frame

    def close(self) -> None:
        self._gen = None
        self._recent.clear()
        self._container.close()


class _Broken(Exception):
    """Internal: the demuxer/decoder failed; carries FFmpeg's message."""


class _Lost(Exception):
    """Internal: after a seek, a decoded frame could not be placed by its timestamp."""
