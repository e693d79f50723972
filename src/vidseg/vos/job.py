"""A whole ``vidseg track`` run: track the given objects through an open video and write the
outputs (mask PNGs, overlay video, RLE, mask video, health report).

One path for the command line, the benchmark runner (``vidseg bench``) or an annotation page.
Every output is checked before the first frame (:func:`vidseg.io.atomic.check_outputs`: none is
an input, none collides, each is writable) and is atomic: a folder or file appears only when
complete. A video that breaks part-way keeps the frames tracked before the break under
``.partial`` names (``masks.partial/``, ``overlay.partial.mp4``, ...), never the final ones, and
the run's :class:`DecodeError` says where it broke and where they are.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from vidseg.errors import DecodeError
from vidseg.io.atomic import (
    OutputSpec,
    check_outputs,
    output_specs,
    partial_path,
    write_bytes_atomic,
)
from vidseg.io.frames import Frame
from vidseg.io.source import VideoReader
from vidseg.vos.engines import EngineConfig
from vidseg.vos.health import TrackingReport
from vidseg.vos.session import Direction, TrackingSession
from vidseg.vos.stepping import Tracker

T = TypeVar("T")


class Progress(Protocol):
    """Wraps a stream of items of known length (or None) under a name, e.g. in a progress bar."""

    def __call__(self, items: Iterator[T], total: int | None, desc: str) -> Iterable[T]: ...


@dataclass(frozen=True)
class TrackOutputs:
    """Where the results go; ``None`` skips an output."""

    masks: str | Path | None = None  # folder of DAVIS palette PNGs, one per frame, named by stem
    overlay: str | Path | None = None  # video of coloured masks at the source's timestamps
    rle: str | Path | None = None  # COCO RLE JSON
    mask_video: str | Path | None = None  # video of the label maps in palette colours
    report: str | Path | None = None  # the tracking report as JSON
    per_object: bool = False  # also binary 0/255 PNGs per object under masks/<id>/
    alpha: float = 0.5  # overlay opacity
    show_ids: bool = False  # draw the ids on the overlay
    audio: bool = True  # copy the source's audio into the overlay
    force: bool = False  # overwrite existing outputs

    def specs(self) -> list[OutputSpec]:
        """Each output named by the ``vidseg track`` option that gives it."""
        return output_specs([("-o", self.masks, "folder"), ("--overlay", self.overlay, "file"),
                             ("--rle", self.rle, "file"), ("--mask-video", self.mask_video, "file"),
                             ("--report", self.report, "file")])

    def any(self) -> bool:
        return bool(self.specs())

    def check(self, inputs: Sequence[str | Path] = ()) -> None:
        """Refuse, before any work, outputs that are or hold one of ``inputs``, collide, exist
        (without ``force``) or cannot be written (see :func:`vidseg.io.atomic.check_outputs`)."""
        check_outputs(self.specs(), inputs, force=self.force)


@dataclass
class TrackRun:
    """What a run did: frames written, the objects given, each object's health, and the
    :class:`DecodeError` that ended it early (the outputs then hold the frames before it)."""

    frames: int
    objects: list[int]
    report: TrackingReport
    decode_error: DecodeError | None = None


def track_video(reader: VideoReader, prompts: Mapping[int, np.ndarray], outputs: TrackOutputs, *,
                engine: str | EngineConfig | Tracker = "default", direction: Direction = "both",
                progress: Progress | None = None, inputs: Sequence[str | Path] = ()) -> TrackRun:
    """Track the objects given in ``prompts`` (``{frame index: HxW uint8 ids}``) through
    ``reader`` (see :class:`TrackingSession` for ``engine`` and ``direction``) and write
    ``outputs``. ``progress`` may wrap the backward pass (``"track back"``) and the stream of
    tracked frames (``"track"``). ``inputs`` names more files no output may touch (the video's own
    path always counts), e.g. the mask file or folder the prompts came from.

    A :class:`DecodeError` after some frames is returned in :attr:`TrackRun.decode_error`, its
    ``partial`` listing the ``.partial`` outputs that hold the frames tracked before it."""
    outputs.check([reader.path, *inputs])
    session = TrackingSession(reader, engine)
    for index in sorted(prompts):
        session.add_mask(index, prompts[index])
    objects = sorted({int(v) for m in prompts.values() for v in np.unique(m) if v})
    n = len(reader) or None

    def wrap_backward(frames: Iterator[Frame], total: int | None) -> Iterable[Frame]:
        return frames if progress is None else progress(frames, total, "track back")

    stream = session.propagate(direction, wrap_backward=wrap_backward)
    done, broken = write_tracked(reader, stream, outputs, progress=progress,
                                 report=lambda: session.report.to_json(), total=n)
    return TrackRun(done, objects, session.report, broken)


def write_tracked(reader: VideoReader, stream: Iterator[tuple[Frame, np.ndarray]], outputs: TrackOutputs, *,
                  progress: Progress | None = None, report: Callable[[], str] | None = None,
                  total: int | None = None) -> tuple[int, DecodeError | None]:
    """Write a stream of ``(frame, labels)`` in frame order to ``outputs`` (checked before) and,
    when ``outputs.report`` is set, the JSON text ``report()`` gives once the stream ends.

    The stream's first item is drawn before any output is opened (a backward pass runs there).
    Returns the frames written and the :class:`DecodeError` that ended the stream early (the
    outputs then carry ``.partial`` names, listed in its ``partial``)."""
    first = next(stream, None)
    tracked: Iterator[tuple[Frame, np.ndarray]] = itertools.chain([] if first is None else [first], stream)
    if progress is not None:
        tracked = iter(progress(tracked, total, "track"))
    broken: DecodeError | None = None
    sinks = _Sinks(outputs)
    try:
        with contextlib.ExitStack() as stack:  # a DecodeError leaves each output as .partial
            sinks.open(stack, reader)
            for frame, labels in tracked:
                sinks.write(frame, labels)
    except DecodeError as exc:  # keep what was tracked; the caller says where it broke
        if sinks.done == 0:
            raise
        broken = exc
    if outputs.report is not None and report is not None:
        data = (report() + "\n").encode()
        if broken is None:
            write_bytes_atomic(outputs.report, data, force=outputs.force)
        else:
            where = partial_path(outputs.report)
            write_bytes_atomic(where, data, force=True)
            broken.partial.append(str(where))
    return sinks.done, broken


class _Sinks:
    """The open writers of one run."""

    def __init__(self, outputs: TrackOutputs) -> None:
        self.o = outputs
        self.masks: Any = None
        self.overlay: Any = None
        self.mask_video: Any = None
        self.rle: Any = None
        self.done = 0

    def open(self, stack: contextlib.ExitStack, reader: VideoReader) -> None:
        from vidseg.io.atomic import atomic_dir
        from vidseg.io.writers import (
            MaskFolderWriter,
            MaskVideoWriter,
            OverlayVideoWriter,
            RleWriter,
        )

        s, o = self, self.o
        if o.masks is not None:
            folder = stack.enter_context(atomic_dir(o.masks, force=o.force))
            s.masks = stack.enter_context(MaskFolderWriter(folder, force=True, per_object=o.per_object))
        if o.overlay is not None:
            s.overlay = stack.enter_context(OverlayVideoWriter(o.overlay, source=reader, force=o.force,
                                                               audio=o.audio))
        if o.mask_video is not None:
            s.mask_video = stack.enter_context(MaskVideoWriter(o.mask_video, source=reader, force=o.force))
        if o.rle is not None:
            s.rle = stack.enter_context(RleWriter(o.rle, force=o.force))

    def write(self, frame: Frame, labels: np.ndarray) -> None:
        from vidseg.io.overlay import draw_overlay

        if self.masks is not None:
            self.masks.write(frame.stem, labels)
        if self.overlay is not None:
            self.overlay.write_frame(frame, draw_overlay(frame.image, labels, alpha=self.o.alpha,
                                                         show_ids=self.o.show_ids))
        if self.mask_video is not None:
            self.mask_video.write(frame, labels)
        if self.rle is not None:
            self.rle.add_labels(frame, labels)
        self.done += 1
