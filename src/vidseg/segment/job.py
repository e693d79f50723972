"""A whole ``vidseg segment`` run: read a video, segment every frame, write the outputs.

Decoding, inference and encoding overlap in three threads (:mod:`vidseg.segment.pipeline`).
Every output is checked before the model loads (:func:`vidseg.io.atomic.check_outputs`) and is
atomic: a folder or file appears only when complete. A video that breaks part-way keeps the frames
before the break under ``.partial`` names, and the :class:`DecodeError` says how many and where.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidseg.errors import DecodeError
from vidseg.io.atomic import OutputSpec, check_outputs, output_specs
from vidseg.io.frames import Frame, FrameWrap
from vidseg.models.card import ModelCard
from vidseg.segment.effects import Effect, flatten, remove_background
from vidseg.segment.pipeline import run_pipeline
from vidseg.segment.segmenter import Segmenter, SegResult

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v")


def is_video_path(path: str | Path) -> bool:
    """Whether an output path names a video file (else it is a folder of PNGs)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class Outputs:
    """Where the results go; ``None`` skips an output."""

    masks: str | Path | None = None  # folder of palette PNGs
    overlay: str | Path | None = None  # overlay video
    rle: str | Path | None = None  # COCO RLE JSON
    soft: str | Path | None = None  # grey PNG folder or grey video
    effect: Effect | None = None
    effect_out: str | Path | None = None  # video, or folder of PNGs
    force: bool = False
    audio: bool = True
    alpha: float = 0.5  # overlay opacity
    encode_preset: str = "superfast"  # x264 preset of the videos written (a preview: speed first)

    def any(self) -> bool:
        return any(p is not None for p in (self.masks, self.overlay, self.rle, self.soft, self.effect_out))

    def specs(self) -> list[OutputSpec]:
        """Each output named by the ``vidseg segment`` option that gives it."""

        def kind(path: str | Path | None) -> str:
            return "file" if path is not None and is_video_path(path) else "folder"

        return output_specs([("-o", self.masks, "folder"), ("--overlay", self.overlay, "file"),
                             ("--rle", self.rle, "file"), ("--soft", self.soft, kind(self.soft)),  # type: ignore[list-item]
                             ("--effect-out", self.effect_out, kind(self.effect_out))])  # type: ignore[list-item]

    def check(self, inputs: Sequence[str | Path] = ()) -> None:
        """Refuse, before any work, outputs that are or hold one of ``inputs``, collide, exist
        (without ``force``) or cannot be written."""
        check_outputs(self.specs(), inputs, force=self.force)


@dataclass
class RunReport:
    """What a run did: frames written, time taken, the :class:`DecodeError` that ended it early
    (its ``partial`` lists the ``.partial`` outputs) and the damaged frames the decoder got past
    (a warning to show, or None)."""

    frames: int
    seconds: float
    decode_error: DecodeError | None = None
    damage: str | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def segment_video(source: str | Path, segmenter: Segmenter, outputs: Outputs, *,
                  wrap: FrameWrap | None = None, queue_size: int = 8, cv_threads: int | None = 1,
                  fps: Fraction | None = None, strict: bool = False) -> RunReport:
    """Segment every frame of ``source`` and write ``outputs``. ``wrap`` may wrap the frame
    iterator (a progress bar); ``fps`` is the frame rate of a frame folder; ``strict`` stops at
    the first damaged frame (see :func:`vidseg.io.reader.open_video`). A :class:`DecodeError`
    part-way is returned in the report, after the frames before it are written under ``.partial``
    names; other errors are raised and leave no output.

    ``cv_threads`` caps OpenCV's own worker threads during the run (restored after): the three
    pipeline stages already fill two cores, and nested thread pools oversubscribe a busy machine.
    """
    import cv2

    previous = cv2.getNumThreads()
    if cv_threads is not None:
        cv2.setNumThreads(cv_threads)
    try:
        return _run(source, segmenter, outputs, wrap, queue_size, fps, strict)
    finally:
        cv2.setNumThreads(previous)


def _run(source: str | Path, segmenter: Segmenter, outputs: Outputs, wrap: FrameWrap | None,
         queue_size: int, fps: Fraction | None, strict: bool) -> RunReport:
    from vidseg.io.reader import open_video

    t0 = time.perf_counter()
    outputs.check([source, segmenter.model.card.file])
    with open_video(source, fps=fps, strict=strict) as reader:
        n = len(reader)
        broken: DecodeError | None = None
        sinks = _Sinks(segmenter.model.card, outputs)
        try:
            with contextlib.ExitStack() as stack:  # a DecodeError leaves each output as .partial
                sinks.open(stack, reader)
                frames: Iterable[Frame] = iter(reader)
                if wrap is not None:
                    frames = wrap(iter(reader), n or None)
                # the model's part in the middle thread; the rest (for people: combining, smoothing,
                # upsampling) in the writer thread, beside the next frame's model
                first, second = segmenter.stages()
                run_pipeline(frames, lambda fr: first(fr.image), lambda fr, seen: sinks.write(fr, second(seen)),
                             queue_size=queue_size)
        except DecodeError as exc:
            if sinks.done == 0:
                raise
            broken = exc
        damage = reader.damage_summary()
    return RunReport(sinks.done, time.perf_counter() - t0, broken, damage)


class _Sinks:
    """The open writers of one run; ``write`` runs in the writer thread, frame by frame."""

    def __init__(self, card: ModelCard, outputs: Outputs) -> None:
        self.card = card
        self.o = outputs
        self.masks: Any = None
        self.overlay: Any = None
        self.rle: Any = None
        self.soft_video: Any = None
        self.soft_dir: Path | None = None
        self.effect_video: Any = None
        self.effect_dir: Path | None = None
        self.done = 0

    def open(self, stack: contextlib.ExitStack, reader: Any) -> None:
        from vidseg.io.atomic import atomic_dir
        from vidseg.io.writers import MaskFolderWriter, OverlayVideoWriter, RleWriter

        s, o, card = self, self.o, self.card

        def video(path: str | Path, audio: bool) -> Any:
            return stack.enter_context(OverlayVideoWriter(path, source=reader, force=o.force, audio=audio,
                                                          preset=o.encode_preset))

        if o.masks is not None:
            s.masks = stack.enter_context(MaskFolderWriter(stack.enter_context(atomic_dir(o.masks, force=o.force)),
                                                           force=True))
        if o.overlay is not None:
            s.overlay = video(o.overlay, o.audio)
        if o.rle is not None:
            if card.task == "instance":
                cats = [{"id": i + 1, "name": name} for i, name in enumerate(card.labels)]
            else:
                cats = [{"id": i, "name": name} for i, name in enumerate(card.labels) if i > 0]
            s.rle = stack.enter_context(RleWriter(o.rle, force=o.force, categories=cats))
        if o.soft is not None:
            if is_video_path(o.soft):
                s.soft_video = video(o.soft, False)
            else:
                s.soft_dir = stack.enter_context(atomic_dir(o.soft, force=o.force))
        if o.effect_out is not None:
            if is_video_path(o.effect_out):
                s.effect_video = video(o.effect_out, o.audio)
            else:
                s.effect_dir = stack.enter_context(atomic_dir(o.effect_out, force=o.force))

    def write(self, fr: Frame, res: SegResult) -> None:
        from vidseg.io.overlay import draw_overlay

        instance = res.instances is not None
        if self.masks is not None:
            self.masks.write(fr.stem, res.labels)
        if self.overlay is not None:
            self.overlay.write_frame(fr, draw_overlay(fr.image, res.labels, alpha=self.o.alpha, show_ids=instance))
        if self.rle is not None:
            self._rle(fr, res)
        if res.probability is not None and (self.soft_video is not None or self.soft_dir is not None):
            grey = np.clip(res.probability * 255.0 + 0.5, 0, 255).astype(np.uint8)
            if self.soft_dir is not None:
                _save_png(self.soft_dir / f"{fr.stem}.png", grey)
            if self.soft_video is not None:
                self.soft_video.write_frame(fr, np.repeat(grey[..., None], 3, axis=2))
        fx = self.o.effect
        if fx is not None and res.probability is not None:
            img = fx.apply(fr.image, res.probability)
            if self.effect_dir is not None:
                _save_png(self.effect_dir / f"{fr.stem}.png", img)
            if self.effect_video is not None:
                if fx.kind == "cutout":  # a video needs the whole frame: the objects on black
                    img = remove_background(fr.image, res.probability)
                self.effect_video.write_frame(fr, flatten(img) if img.shape[2] == 4 else img)
        self.done += 1

    def _rle(self, fr: Frame, res: SegResult) -> None:
        if res.instances is not None and res.ids is not None:
            inst, keep = res.instances, res.ids > 0
            self.rle.add_instances(fr, inst.masks[keep], res.ids[keep].tolist(), scores=inst.scores[keep].tolist(),
                                   category_ids=(inst.classes[keep] + 1).tolist())
        else:  # one annotation per class present; object_id = category_id = class index
            present = np.flatnonzero(np.bincount(res.labels.ravel(), minlength=256)[1:]) + 1
            self.rle.add_instances(fr, res.labels[None] == present[:, None, None], present.tolist(),
                                   category_ids=present.tolist())


def _save_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(image).save(str(path), format="PNG", compress_level=1)
