"""Video containers (mp4, mkv, webm, mov, avi, ...) and live streams (URLs, cameras) via PyAV.

A file is scanned once at open (demux only, no decoding) for the presentation timestamps and
keyframes of every frame: that gives an exact frame count, variable-frame-rate detection and
random access by index (seek to the keyframe before, decode forward). A live stream is not
scanned: it streams forward only and its frame count is unknown.

Damage is counted, not hidden. Decoding is single-threaded so that every error FFmpeg logs while
decoding a packet belongs to that packet's frame; a packet the decoder rejects is skipped and its
frame is lost (the frame before it is handed out again in its place, so numbering and timing stay
right). Every affected frame is recorded in ``reader.damage`` (see
:class:`~vidseg.io.source.VideoReader`); with ``strict`` the first one is a
:class:`~vidseg.errors.DecodeError`. A file that ends early (the demuxer says so, or the header
announces more frames) is a :class:`DecodeError` once the frames it holds are read.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.logging
import cv2
import numpy as np

from vidseg.errors import DecodeError, FrameIndexError, InputError
from vidseg.io.frames import Frame, VideoInfo
from vidseg.io.images import check_pixels
from vidseg.io.prefetch import prefetch
from vidseg.io.source import DEFAULT_FPS, VideoReader

URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp", "hls")
DEVICE_FORMATS = ("v4l2", "avfoundation", "dshow", "x11grab", "gdigrab", "lavfi")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
LIVE_TIMEOUT_S = 15.0
PREFETCH_DEPTH = 4  # frames decoded ahead of the consumer
RECENT = 8  # decoded frames kept for read(): cheap scrubbing backwards
LOST = "could not be decoded (the frame before it is repeated in its place)"


def _listen_to_ffmpeg() -> None:
    """Let FFmpeg's errors reach PyAV's log capture (PyAV drops them by default), and keep those
    no capture claims (other threads' decoders) off stderr: errors are counted, not printed."""
    logging.getLogger("libav").addHandler(logging.NullHandler())
    av.logging.set_skip_repeated(False)  # the same error in two passes over a file is counted twice
    level = av.logging.get_level()
    if level is None or level < av.logging.ERROR:
        av.logging.set_level(av.logging.ERROR)


_listen_to_ffmpeg()


def _problems(logs: list[tuple[int, str, str]]) -> list[str]:
    return [f"{name}: {msg.strip()}" for level, name, msg in logs if level <= av.logging.ERROR and msg.strip()]


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
    ends_early: str | None = None  # what the demuxer said when the file ended before its end


def _scan(path: str, stream_index: int) -> _Scan:
    """Demux every video packet (no decoding): count, timestamps and keyframes."""
    pts: list[int] = []
    keys: list[int] = []
    count = 0
    missing = False
    tail: list[str] = []
    with av.open(path, metadata_errors="replace") as c, av.logging.Capture(local=True) as logs:
        s = c.streams[stream_index]
        try:
            for pkt in c.demux(s):
                if pkt.size == 0 or pkt.is_discard:
                    continue  # (the last, empty packet comes after what the demuxer said at the end)
                if logs:
                    logs.clear()  # damage the demuxer got past: decoding puts it on its frame
                count += 1
                if pkt.pts is None:
                    missing = True
                    continue
                pts.append(int(pkt.pts))
                if pkt.is_keyframe:
                    keys.append(int(pkt.pts))
        except av.FFmpegError as exc:  # a truncated/corrupt tail: count what could be demuxed
            tail.append(str(exc))
        tail[:0] = _problems(list(logs))
    ends_early = "; ".join(tail) if tail else None
    arr = np.unique(np.asarray(pts, dtype=np.int64))
    if missing or arr.size != count or count == 0:
        return _Scan(count, None, None, ends_early)  # random access then decodes forward from the start
    key_arr = np.unique(np.asarray(keys, dtype=np.int64)) if keys else arr[:1]
    return _Scan(count, arr, key_arr, ends_early)


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
            return av.open(path, format=fmt, timeout=LIVE_TIMEOUT_S, metadata_errors="replace")
        return av.open(path, metadata_errors="replace")  # tags in any encoding: not our concern
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

    def __init__(self, path: str, *, live: bool = False, fmt: str | None = None, name: str | None = None,
                 strict: bool = False) -> None:
        self._url = path
        self._path = name or path  # what messages and info.path call it
        self._live = live
        self._fmt = fmt
        self.strict = strict
        self._pending = []
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
        cc = vs.codec_context
        if cc is not None and cc.width and cc.height:
            try:
                check_pixels(int(cc.width), int(cc.height), self._path, "video frame")
            except InputError:
                self._container.close()
                raise
        self._si = vs.index
        self._tb = Fraction(vs.time_base) if vs.time_base else None
        self._scan = None if live else _scan(path, self._si)
        if self._scan is not None and self._scan.count == 0:
            self._container.close()
            raise InputError("video has no frames", path)
        self._gen: Iterator[Frame] | None = None
        self._next = 0  # index of the frame self._gen yields next
        self._cache: Frame | None = None  # the frame decoded last
        self._recent: OrderedDict[int, Frame] = OrderedDict()  # the last RECENT frames decoded
        first = self._first_frame()
        self._rotation = first[1]
        self._build_info(vs, first[0])

    # -- opening --------------------------------------------------------------------------
    def _first_frame(self) -> tuple[Frame, int]:
        raws = self._decode_iter(self._container)
        try:
            raw = next(raws, None)
        except (_Broken, av.FFmpegError) as exc:
            self._container.close()
            raise DecodeError(f"cannot decode the first frame ({exc})", self._path, frames_done=0) from exc
        if raw is None:
            self._container.close()
            raise InputError("video has no decodable frames", self._path)
        rotation = _frame_rotation(raw)
        self._rotation = rotation
        self._gen = self._frames(raws, 0, first=raw)
        try:
            frame = self._advance()
        except DecodeError:
            self._container.close()
            raise
        return frame, rotation

    def _build_info(self, vs: Any, first: Frame) -> None:
        c = self._container
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = Fraction(rate) if rate else None
        count: int | None = None
        duration: float | None = None
        vfr = False
        step = 0.0
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
            # Matroska's DURATION tag is exact (to the millisecond), so a file cut just before its
            # index, one frame short, shows; other headers may hold estimates (mp4 states its
            # frame count instead, checked below)
            exact = "matroska" in (c.format.name or "") and (vs.metadata or {}).get("DURATION") is not None
            longest = float(np.diff(pts).max() * self._tb) if count > 1 else 0.0
            slack = (0.5 * (longest if vfr else step) + 0.002) if exact else 0.25 + 2 / float(fps or DEFAULT_FPS)
            if int(vs.frames or 0) > count:
                pass  # set below
            elif hdur is not None and duration is not None and fps and duration < hdur - slack:
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
        self.ends_early: str | None = self._scan.ends_early if self._scan is not None else None
        self.pixel_format: str | None = cc.pix_fmt if cc else None
        self.audio_stream_index: int | None = a.index if a is not None else None
        self.video_stream_index: int = self._si

    # -- decoding ---------------------------------------------------------------------------
    def _decode_iter(self, container: Any) -> Iterator[Any]:
        """Raw av.VideoFrames in presentation order (demux ends with a flush packet that drains
        the decoder). What goes wrong is recorded, not raised: a packet the decoder rejects is
        skipped, and errors logged while demuxing or decoding a packet go on that packet's frame
        (:meth:`_packet_damage`). Only the demuxer failing ends the stream: what the decoder holds
        is drained, then :class:`_Broken` is raised."""
        vs = container.streams[self._si]
        if vs.codec_context is not None and not vs.codec_context.is_open:
            vs.thread_type = "NONE"  # one thread: FFmpeg's errors come while their packet is decoded
        demux = container.demux(vs)
        while True:
            with av.logging.Capture(local=True) as logs:
                try:
                    pkt = next(demux)
                except StopIteration:
                    pkt = None
                except av.FFmpegError as exc:
                    with contextlib.suppress(av.FFmpegError):
                        yield from vs.decode(None)
                    raise _Broken(str(exc)) from exc
            if pkt is None:
                return
            before = _problems(list(logs))
            if before and not pkt.size:  # the demuxer's last word, on the empty packet that ends it
                self._tail = "; ".join(before)
                before = []
            with av.logging.Capture(local=True) as logs:
                try:
                    frames = vs.decode(pkt)
                except av.FFmpegError as exc:
                    frames = []
                    before.append(f"the decoder rejected the packet ({getattr(exc, 'strerror', None) or exc})")
            problems = before + _problems(list(logs))
            if pkt.size and getattr(pkt, "is_corrupt", False):
                problems.append("the packet is flagged corrupt")
            if problems and pkt.size:
                self._packet_damage(pkt.pts, problems)
            yield from frames

    def _packet_damage(self, pts: int | None, problems: list[str]) -> None:
        idx = self._index_of_pts(pts)
        if idx is None:
            self._pending.extend(problems)  # no timestamp to place it: the next frame out gets it
        else:
            self.damage.setdefault(idx, []).extend(problems)

    def _frames(self, raws: Iterator[Any], start: int | None, first: Any = None) -> Iterator[Frame]:
        """Frames from raw frames, numbered by their timestamps (``start``: the index expected
        first, None after a seek). A frame that never came (its packet was rejected) is replaced
        by the frame before it and recorded as damaged; with ``strict`` any damaged frame raises
        :class:`DecodeError` instead of being handed out."""
        expect = start
        prev: Frame | None = None
        pending_first = first
        while True:
            if pending_first is not None:
                raw, pending_first = pending_first, None
            else:
                raw = next(raws, None)
            if raw is None:
                return
            idx = self._index_of(raw)
            if idx is None:
                if expect is None:
                    raise _Lost
                idx = expect
            if self._pending:
                self.damage.setdefault(idx, []).extend(self._pending)
                self._pending.clear()
            if expect is not None and idx < expect:
                continue  # a repeated timestamp: the frame is already out
            frame = self._to_frame(raw, idx)
            if expect is not None:
                for gap in range(expect, idx):
                    self.damage.setdefault(gap, []).append(LOST)
                    yield self._checked(self._substitute(prev or frame, gap))
            yield self._checked(frame)
            prev = frame
            expect = idx + 1

    def _checked(self, frame: Frame) -> Frame:
        if self.strict and frame.index in self.damage:
            problems = "; ".join(dict.fromkeys(self.damage[frame.index]))
            raise DecodeError(f"frame {frame.index} is damaged ({problems}); --strict stops at the first "
                              f"damaged frame; {frame.index} frames were decoded", self._path,
                              frames_done=frame.index)
        return frame

    def _substitute(self, like: Frame, index: int) -> Frame:
        pts: int | None = None
        if self._scan is not None and self._scan.pts is not None and index < self._scan.pts.size:
            pts = int(self._scan.pts[index])
        if pts is not None and self._tb is not None:
            time = float(pts * self._tb)
        else:
            rate = self.info.fps if getattr(self, "info", None) is not None and self.info.fps else DEFAULT_FPS
            time = float(index / rate)
        return Frame(index=index, time=time, stem=f"{index:05d}", image=like.image, pts=pts, time_base=self._tb)

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
                frame = next(self._gen, None)
            except (_Broken, av.FFmpegError) as exc:
                self._gen = None
                raise DecodeError(f"stream broke at frame {self._next} ({exc})", self._path,
                                  frames_done=self._next) from None
            if frame is None:
                self._gen = None
                return
            self._remember(frame)
            self._next = frame.index + 1
            yield frame

    def _iter_frames(self) -> Iterator[Frame]:
        container = _open(self._url, self._fmt, self._live)
        n = 0
        self._tail = None
        try:
            try:
                for frame in self._frames(self._decode_iter(container), 0):
                    yield frame
                    n = frame.index + 1
            except (_Broken, av.FFmpegError) as exc:
                raise DecodeError(
                    f"video broke at frame {n} ({exc}); {n} frames were decoded", self._path, frames_done=n
                ) from None
            expected = max(self._expected or 0, len(self))
            why = self._tail or (self._scan.ends_early if self._scan is not None else None)
            if why is not None:
                raise DecodeError(f"video ends at frame {n}: the file ends early ({why}); {n} frames "
                                  "were decoded", self._path, frames_done=n)
            if n < expected:
                for gap in range(n, len(self)):  # the decoder swallowed the last packets
                    self.damage.setdefault(gap, []).append(LOST)
                if self._expected is not None and n < self._expected:
                    raise DecodeError(
                        f"video ends at frame {n} but its header announces about {self._expected} "
                        f"(truncated file); {n} frames were decoded", self._path, frames_done=n,
                    )
                if self.strict:
                    raise DecodeError(f"frames {n}..{len(self) - 1} could not be decoded; {n} frames "
                                      "were decoded", self._path, frames_done=n)
                last = self._cache if self._cache is not None and self._cache.index == n - 1 else None
                if last is not None:
                    for gap in range(n, len(self)):
                        yield self._substitute(last, gap)
            if n == 0:
                raise InputError("video has no frames", self._path)
        finally:
            container.close()

    # -- random access ------------------------------------------------------------------------
    def _index_of(self, raw: Any) -> int | None:
        return self._index_of_pts(raw.pts)

    def _index_of_pts(self, pts: int | None) -> int | None:
        if self._scan is None or self._scan.pts is None or pts is None:
            return None
        i = int(np.searchsorted(self._scan.pts, pts))
        if i < self._scan.pts.size and self._scan.pts[i] == pts:
            return i
        return None

    def _advance(self) -> Frame:
        """The next frame of ``self._gen``; DecodeError naming the frame where the video broke or
        ended."""
        assert self._gen is not None
        try:
            frame = next(self._gen, None)
        except (_Broken, av.FFmpegError) as exc:
            self._gen = None
            raise DecodeError(f"video broke at frame {self._next} ({exc})", self._path, frames_done=self._next) from None
        except (_Lost, DecodeError):
            self._gen = None
            raise
        if frame is None:
            self._gen = None
            raise DecodeError(f"video ends before frame {self._next}", self._path, frames_done=max(self._next, 0))
        self._next = frame.index + 1
        return self._remember(frame)

    def _seek_to(self, key_pts: int) -> None:
        vs = self._container.streams[self._si]
        self._container.seek(int(key_pts), stream=vs, backward=True, any_frame=False)
        self._gen = self._frames(self._decode_iter(self._container), None)
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
            raise FrameIndexError(f"frame {index} out of range 0..{n - 1}", self._path)
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
            self._gen = self._frames(self._decode_iter(self._container), 0)
            self._next = 0
        f = self._advance()
        while f.index < index:
            f = self._advance()
        return f

    def close(self) -> None:
        self._gen = None
        self._recent.clear()
        self._container.close()

    _tail: str | None = None  # what the demuxer said at the end of the last pass, if it ended early
    _pending: list[str]  # problems not yet placed on a frame


class _Broken(Exception):
    """Internal: the demuxer/decoder failed; carries FFmpeg's message."""


class _Lost(Exception):
    """Internal: after a seek, a decoded frame could not be placed by its timestamp."""
