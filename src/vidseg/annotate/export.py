"""Exports of an annotation project: the formats other tools and ``vidseg train`` read.

Every export is written under a temporary name inside ``<project>/export/`` and renamed into
place when complete (:mod:`vidseg.io.atomic`); an existing export of the same name is replaced
only then. Frames without a mask are exported as background.

* ``davis``: ``export/davis/JPEGImages/480p/<name>/NNNNN.jpg`` and
  ``export/davis/Annotations/480p/<name>/NNNNN.png`` (palette PNGs, pixel = object id).
* ``youtube-vos``: ``export/youtube-vos/{JPEGImages,Annotations}/<name>/NNNNN.{jpg,png}`` and
  ``meta.json`` (each object's category = its name, and the frames it appears on).
* ``coco``: ``export/coco.json``, COCO RLE per object and frame (categories = the objects).
* ``per-object``: ``export/per-object/<id>/NNNNN.png``, binary 0/255 masks (with the palette
  PNGs ``export/per-object/NNNNN.png`` beside them).
* ``overlay``: ``export/overlay.mp4``, the masks drawn over the video at its own timestamps,
  with its audio.
* ``training``: ``export/train-WxH[-gray]/{train,val}/{images,masks}/NNNNN.png`` and
  ``manifest.json``: frames and masks resized to a chosen size (optionally grayscale), split by
  blocks of consecutive frames (never by single frames: neighbours are near-duplicates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidseg.annotate.project import Project
from vidseg.errors import InputError
from vidseg.io.atomic import atomic_dir, write_bytes_atomic
from vidseg.io.overlay import draw_overlay
from vidseg.io.palette import davis_palette, write_mask
from vidseg.io.reader import open_video
from vidseg.io.source import VideoReader, frame_ranges
from vidseg.io.writers import MaskFolderWriter, OverlayVideoWriter, RleWriter

FORMATS = ("davis", "youtube-vos", "coco", "per-object", "overlay", "training")
EXPORT_DIR = "export"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainingOptions:
    """The training set's frame size, colour and split."""

    width: int = 320
    height: int = 240
    gray: bool = False
    val_share: float = 0.2  # share of frames in the validation split
    block: int = 0  # frames per block (0: about a tenth of the video, at least 10)

    def check(self) -> None:
        if not (8 <= self.width <= 4096 and 8 <= self.height <= 4096):
            raise InputError(f"training size {self.width}x{self.height} is outside 8..4096")
        if not 0.0 <= self.val_share < 1.0:
            raise InputError(f"validation share {self.val_share} is outside [0, 1)")
        if self.block < 0:
            raise InputError("block length must be >= 0")


def sequence_name(project: Project) -> str:
    """A file-system-safe name for the project's video."""
    stem = Path(project.source.path).stem or "video"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80] or "video"


def export(project: Project, fmt: str, *, out: str | Path | None = None, training: TrainingOptions | None = None,
           progress: Progress | None = None) -> Path:
    """Write the export ``fmt`` (see :data:`FORMATS`); returns where. ``out`` overrides the
    default place under ``<project>/export/``."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    base = project.folder / EXPORT_DIR
    report = progress or (lambda done, total: None)
    if fmt == "davis":
        return _davis(project, Path(out) if out else base / "davis", report)
    if fmt == "youtube-vos":
        return _youtube_vos(project, Path(out) if out else base / "youtube-vos", report)
    if fmt == "coco":
        return _coco(project, Path(out) if out else base / "coco.json", report)
    if fmt == "per-object":
        return _per_object(project, Path(out) if out else base / "per-object", report)
    if fmt == "overlay":
        return _overlay(project, Path(out) if out else base / "overlay.mp4", report)
    opts = training or TrainingOptions()
    opts.check()
    name = f"train-{opts.width}x{opts.height}" + ("-gray" if opts.gray else "")
    return _training(project, Path(out) if out else base / name, opts, report)


def _frames(project: Project) -> VideoReader:
    return open_video(project.source.path)


def _write_jpeg(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise InputError("cannot encode a frame as JPEG", path)
    path.write_bytes(buf.tobytes())


def _image_and_mask_folders(project: Project, out: Path, images: str, masks: str, report: Progress) -> dict[int, list[str]]:
    """Frames as JPEG and masks as palette PNGs under ``out``; returns id -> frame stems present."""
    seen: dict[int, list[str]] = {}
    n = project.frame_count
    with atomic_dir(out, force=True) as tmp, _frames(project) as video:
        (tmp / images).mkdir(parents=True)
        (tmp / masks).mkdir(parents=True)
        for frame in video:
            if frame.index >= n:
                break
            stem = f"{frame.index:05d}"
            labels = project.labels_or_empty(frame.index)
            _write_jpeg(tmp / images / f"{stem}.jpg", frame.image)
            write_mask(tmp / masks / f"{stem}.png", labels)
            for o in np.flatnonzero(np.bincount(labels.ravel(), minlength=256)[1:]) + 1:
                seen.setdefault(int(o), []).append(stem)
            report(frame.index + 1, n)
    return seen


def _davis(project: Project, out: Path, report: Progress) -> Path:
    name = sequence_name(project)
    _image_and_mask_folders(project, out, f"JPEGImages/480p/{name}", f"Annotations/480p/{name}", report)
    return out


def _youtube_vos(project: Project, out: Path, report: Progress) -> Path:
    name = sequence_name(project)
    seen = _image_and_mask_folders(project, out, f"JPEGImages/{name}", f"Annotations/{name}", report)
    names = {o["id"]: o["name"] for o in project.objects()}
    meta = {"videos": {name: {"objects": {str(o): {"category": names.get(o, f"object {o}"), "frames": stems}
                                          for o, stems in sorted(seen.items())}}}}
    write_bytes_atomic(out / "meta.json", json.dumps(meta, indent=1).encode())
    return out


def _coco(project: Project, out: Path, report: Progress) -> Path:
    objs = project.objects()
    cats = [{"id": o["id"], "name": o["name"]} for o in objs] or [{"id": 1, "name": "object"}]
    n = project.frame_count
    out.parent.mkdir(parents=True, exist_ok=True)
    with _frames(project) as video, RleWriter(out, force=True, categories=cats) as rle:
        for frame in video:
            if frame.index >= n:
                break
            labels = project.labels_or_empty(frame.index)
            ids = [int(o) for o in np.flatnonzero(np.bincount(labels.ravel(), minlength=256)[1:]) + 1]
            if ids:
                rle.add_instances(frame, np.stack([labels == o for o in ids]), ids, category_ids=ids)
            else:
                rle.add_labels(frame, labels)
            report(frame.index + 1, n)
    return out


def _per_object(project: Project, out: Path, report: Progress) -> Path:
    n = project.frame_count
    with atomic_dir(out, force=True) as tmp:
        writer = MaskFolderWriter(tmp, force=True, per_object=True)
        for t in range(n):
            writer.write(f"{t:05d}", project.labels_or_empty(t))
            report(t + 1, n)
    return out


def _palette(project: Project) -> np.ndarray:
    pal = davis_palette()
    for o in project.objects():
        c = o["color"]
        pal[o["id"]] = (int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16))
    return pal


def _overlay(project: Project, out: Path, report: Progress) -> Path:
    n = project.frame_count
    pal = _palette(project)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _frames(project) as video, OverlayVideoWriter(out, source=video, force=True) as writer:
        for frame in video:
            if frame.index >= n:
                break
            writer.write_frame(frame, draw_overlay(frame.image, project.labels_or_empty(frame.index), palette=pal))
            report(frame.index + 1, n)
    return out


def split_blocks(n: int, val_share: float, block: int = 0) -> tuple[list[int], list[int]]:
    """Frame indices ``0..n-1`` split into train and validation by blocks of consecutive frames:
    every k-th block (spread over the video) goes to validation."""
    if n <= 0:
        return [], []
    b = block or max(10, n // 10)
    blocks = [list(range(s, min(n, s + b))) for s in range(0, n, b)]
    n_val = round(len(blocks) * val_share)
    if val_share > 0 and n_val == 0 and len(blocks) > 1:
        n_val = 1
    val_blocks = set(np.linspace(len(blocks) - 1, 0, n_val, endpoint=False).round().astype(int).tolist()) if n_val else set()
    train = [t for i, bl in enumerate(blocks) if i not in val_blocks for t in bl]
    val = [t for i, bl in enumerate(blocks) if i in val_blocks for t in bl]
    return train, val


def _training(project: Project, out: Path, opts: TrainingOptions, report: Progress) -> Path:
    n = project.frame_count
    train, val = split_blocks(n, opts.val_share, opts.block)
    which = {t: "train" for t in train} | {t: "val" for t in val}
    size = (opts.width, opts.height)
    objs = project.objects()
    counts = {"train": 0, "val": 0}
    with atomic_dir(out, force=True) as tmp, _frames(project) as video:
        for split in ("train", "val"):
            (tmp / split / "images").mkdir(parents=True)
            (tmp / split / "masks").mkdir(parents=True)
        for frame in video:
            if frame.index >= n:
                break
            split = which[frame.index]
            stem = f"{frame.index:05d}"
            img = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA)
            if opts.gray:
                data = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))[1]
            else:
                data = cv2.imencode(".png", np.ascontiguousarray(img[..., ::-1]))[1]
            (tmp / split / "images" / f"{stem}.png").write_bytes(data.tobytes())
            labels = cv2.resize(project.labels_or_empty(frame.index), size, interpolation=cv2.INTER_NEAREST)
            write_mask(tmp / split / "masks" / f"{stem}.png", labels)
            counts[split] += 1
            report(frame.index + 1, n)
        manifest: dict[str, Any] = {
            "format": "vidseg-training-set", "version": 1, "source": project.source.path,
            "size": [opts.width, opts.height], "channels": 1 if opts.gray else 3,
            "images": "<split>/images/NNNNN.png", "masks": "<split>/masks/NNNNN.png (palette PNG, pixel = object id)",
            "objects": [{"id": o["id"], "name": o["name"]} for o in objs],
            "split": {"method": "blocks of consecutive frames", "block": opts.block or max(10, n // 10),
                      "val_share": opts.val_share, "train": counts["train"], "val": counts["val"],
                      "val_frames": frame_ranges(val)},
            "user_set_frames": project.user_frames(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out
