"""A whole ``vidseg track --auto`` run: find the main object(s), track them and write the same
outputs as prompted tracking (:func:`vidseg.vos.job.write_tracked`: checked first, atomic,
``.partial`` names when the video breaks)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vidseg.errors import DecodeError
from vidseg.io.frames import Frame
from vidseg.io.source import VideoReader
from vidseg.vos.auto.session import AutoConfig, AutoReport, AutoTrackingSession
from vidseg.vos.job import Progress, TrackOutputs, write_tracked


@dataclass
class AutoRun:
    """What a run did: frames written, the objects found, the report, and the
    :class:`DecodeError` that ended it early (the outputs then hold the frames before it)."""

    frames: int
    objects: list[int]
    report: AutoReport
    decode_error: DecodeError | None = None


def auto_track_video(reader: VideoReader, outputs: TrackOutputs, config: AutoConfig | None = None, *,
                     progress: Progress | None = None, inputs: Sequence[str | Path] = ()) -> AutoRun:
    """Find the main object(s) of ``reader`` and write ``outputs`` (see :func:`vidseg.vos.job.track_video`).
    ``progress`` may wrap the first pass (``"find object"``), the backward pass (``"track back"``)
    and the stream of frames (``"track"``)."""
    outputs.check([reader.path, *inputs])
    session = AutoTrackingSession(reader, config)

    def wrap_keys(keys: list[int]) -> Iterable[int]:
        return keys if progress is None else progress(iter(keys), len(keys), "find object")

    def wrap_backward(frames: Iterator[Frame], total: int | None) -> Iterable[Frame]:
        return frames if progress is None else progress(frames, total, "track back")

    found = session.discover(wrap_keys)
    stream = session.propagate(wrap_backward=wrap_backward)
    done, broken = write_tracked(reader, stream, outputs, progress=progress,
                                 report=lambda: session.report.to_json(), total=len(reader) or None)
    return AutoRun(done, [o.object_id for o in found.objects], session.report, broken)
