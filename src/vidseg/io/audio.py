"""Carry a source's audio into an output container: stream copy (remux), or AAC when it must."""

from __future__ import annotations

from typing import Any

import av

from vidseg.errors import InputError


class AudioCopier:
    """Feeds the audio packets of ``source_path`` into ``out`` as video is written.

    Copy mode adds a stream from the source's template and remuxes its packets unchanged;
    transcode mode decodes them and encodes AAC. Call :meth:`feed_until` with the time (seconds)
    of each video frame written, so audio and video interleave by timestamp, then :meth:`finish`.
    A broken audio tail (truncated source) ends the copy quietly: video matters more.
    """

    def __init__(self, source_path: str, stream_index: int, out: Any, *, transcode: bool = False) -> None:
        try:
            self._in = av.open(source_path, metadata_errors="replace")
        except av.FFmpegError as exc:
            raise InputError(f"cannot reopen for its audio ({exc})", source_path) from exc
        self._src: Any = self._in.streams[stream_index]
        self._out = out
        self.transcode = transcode
        fmt = str(getattr(out.format, "name", ""))
        self._drop_negative = not any(f in fmt.split(",") for f in ("mp4", "mov", "ipod", "3gp"))
        if transcode:
            cc: Any = self._src.codec_context
            self.stream: Any = out.add_stream("aac", rate=int(cc.sample_rate) or 48000)
            channels = int(cc.layout.nb_channels) if cc.layout else 2
            # named layouts AAC takes; other channel counts are downmixed to stereo
            self.stream.layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, "stereo")
        else:
            self.stream = out.add_stream_from_template(self._src)
        self._packets = self._in.demux(self._src)
        self._pending: Any = None
        self._done = False
        self.packets_written = 0

    def feed_until(self, t: float | None, lead: float = 0.25) -> None:
        """Write every audio packet that starts before ``t + lead`` seconds (all when ``t`` is None)."""
        while not self._done:
            pkt = self._pending
            self._pending = None
            if pkt is None:
                try:
                    pkt = next(self._packets, None)
                except av.FFmpegError:
                    pkt = None
                if pkt is None:
                    self._done = True
                    break
            if pkt.dts is None or pkt.size == 0:
                continue
            if self._drop_negative and pkt.pts is not None and pkt.pts + (pkt.duration or 0) <= 0:
                continue  # encoder priming before 0: containers without edit lists would shift video
            if t is not None and float(pkt.dts * pkt.time_base) > t + lead:
                self._pending = pkt
                break
            self._write(pkt)

    def _write(self, pkt: Any) -> None:
        if not self.transcode:
            pkt.stream = self.stream
            self._out.mux(pkt)
            self.packets_written += 1
            return
        try:
            frames = self._src.decode(pkt)
        except av.FFmpegError:
            return
        for fr in frames:
            fr.pts = None  # let the encoder's resampler count samples
            for p in self.stream.encode(fr):
                self._out.mux(p)
                self.packets_written += 1

    def finish(self) -> None:
        """Write the remaining audio, flush an encoder, close the source."""
        self.feed_until(None)
        if self.transcode:
            for p in self.stream.encode(None):
                self._out.mux(p)
                self.packets_written += 1
        self._in.close()

    def abort(self) -> None:
        """Close the source without writing more."""
        self._in.close()
