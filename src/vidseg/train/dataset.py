"""Segmentation training sets: find (frame, mask) pairs in the layouts vidseg reads, split them
by video or by blocks of time, and load them at the training size.

Layouts (detected in this order):

- an ``vidseg annotate`` export: ``manifest.json`` (``{"items": [{"frame": "frames/a/00000.jpg",
  "mask": "masks/a/00000.png", "video": "a", "split": "train"}, ...]}``; ``mask`` may be null for
  a frame nobody annotated, ``split`` is ``train`` or ``val``) beside ``frames/`` and ``masks/``;
- DAVIS: ``JPEGImages/<res>/<seq>/*.jpg`` with ``Annotations/<res>/<seq>/*.png``;
- YouTube-VOS: ``JPEGImages/<seq>/*.jpg`` with ``Annotations/<seq>/*.png`` (a ``train/`` folder
  above them is looked into);
- frames with masks beside them: ``frames/`` + ``masks/`` (PNG named like each frame), either flat
  (one video) or one subfolder per video; or one folder of ``x.jpg`` + ``x.png`` pairs;
- a video or a folder of frames with a separate masks folder (``find_items(video, masks)``):
  frames without a mask there are simply not annotated (sparse annotation, tracked masks).

In the DAVIS and ``frames/`` + ``masks/`` layouts every frame must have its mask (a missing one is
an error naming it); a manifest says ``"mask": null`` for frames nobody annotated.

Validation never takes random frames of a video (neighbours are near-duplicates): whole videos
when there are several, else the last block of each video's frames.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.io.images import image_size, read_rgb
from vidseg.io.natsort import natural_key, natural_sorted
from vidseg.io.palette import read_mask

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class Item:
    """One frame of a training set: its image, its mask (``None``: not annotated), its video, its
    place in that video and the split it was given (``None``: vidseg decides)."""

    frame: Path
    mask: Path | None
    video: str
    index: int
    split: str | None = None


def _frames_in(folder: Path) -> list[Path]:
    return natural_sorted([p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                           and p.suffix.lower() in FRAME_SUFFIXES])


def _pair_folder(frames: Path, masks: Path | None, video: str, *, every_frame: bool = False) -> list[Item]:
    """Frames of ``frames`` with the PNG of the same stem in ``masks``. A frame without one is not
    annotated (``None``), unless ``every_frame``: then its expected mask path is kept, and
    :func:`check_items` reports it missing."""
    items = []
    for i, f in enumerate(_frames_in(frames)):
        m = masks / f"{f.stem}.png" if masks is not None else None
        items.append(Item(f, m if m is not None and (every_frame or m.is_file()) else None, video, i))
    return items


def _manifest(root: Path) -> list[Item]:
    path = root / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable manifest ({exc})", path) from None
    rows = data.get("items", data.get("frames")) if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InputError("manifest has no list of items", path)
    items: list[Item] = []
    counters: dict[str, int] = {}
    for n, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("frame", row.get("image")), str):
            raise InputError(f"manifest item {n} has no frame path", path)
        video = str(row.get("video", row.get("sequence", "video")))
        try:
            index = int(row.get("index", counters.get(video, 0)))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"manifest item {n} has a bad index {row.get('index')!r}", path) from None
        counters[video] = index + 1
        mask = row.get("mask")
        split = row.get("split")
        frame = str(row.get("frame", row.get("image")))
        items.append(Item(root / frame, root / str(mask) if mask else None, video, index,
                          str(split) if split else None))
    return items


def _video_items(video: Path, masks: Path) -> list[Item]:
    """The frames of a video that have a mask in ``masks`` (named by frame index, ``00042.png``,
    as ``vidseg track -o`` writes them)."""
    items = []
    for m in natural_sorted([p for p in masks.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith(".")]):
        if not m.stem.isdigit():
            raise InputError("masks for a video must be named by frame index (00042.png)", m)
        items.append(Item(video, m, video.stem, int(m.stem)))
    return items


def is_video(path: Path) -> bool:
    """A video file (not a folder, not an image)."""
    return path.is_file() and path.suffix.lower() not in FRAME_SUFFIXES


def find_items(root: str | Path, masks: str | Path | None = None) -> list[Item]:
    """Every frame of the training set at ``root`` (any layout above), in video and time order.
    With ``masks``: ``root`` is a video or a folder of frames and ``masks`` its PNG masks (named
    like the frames; by frame index for a video)."""
    root = Path(root)
    if masks is not None:
        masks = Path(masks)
        if not masks.is_dir():
            raise InputError("masks must be a folder of PNGs", masks)
        if is_video(root):
            items = _video_items(root, masks)
        elif root.is_dir():
            items = _pair_folder(root, masks, root.name)
        else:
            raise InputError("not a video or a folder of frames", root)
        if not any(it.mask is not None for it in items):
            raise InputError(f"no masks in {masks} match the frames", root)
        return items
    if not root.is_dir():
        raise InputError("training data must be a folder (or a video with --masks)", root)
    if (root / "manifest.json").is_file():
        items = _manifest(root)
    elif (root / "JPEGImages").is_dir() and (root / "Annotations").is_dir():
        items = []
        jpeg, ann = root / "JPEGImages", root / "Annotations"
        subs = sorted((p for p in jpeg.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
        davis = bool(subs) and all(any(q.is_dir() for q in s.iterdir()) for s in subs)
        for res in subs if davis else [jpeg]:
            for seq in sorted((p for p in res.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
                masks = ann / res.relative_to(jpeg) / seq.name
                if masks.is_dir():
                    items += _pair_folder(seq, masks, seq.name, every_frame=True)
    elif (root / "train" / "JPEGImages").is_dir():
        return find_items(root / "train")
    elif (root / "frames").is_dir() and (root / "masks").is_dir():
        frames, masks = root / "frames", root / "masks"
        videos = sorted((p for p in frames.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
        items = [it for v in videos for it in _pair_folder(v, masks / v.name, v.name, every_frame=True)] if videos \
            else _pair_folder(frames, masks, root.name, every_frame=True)
    else:
        listed = _frames_in(root)
        if any(f.suffix.lower() != ".png" for f in listed):  # x.jpg + x.png pairs
            items = [it for it in _pair_folder(root, root, root.name) if it.frame.suffix.lower() != ".png"]
        else:  # a folder of frames alone (for distil)
            items = _pair_folder(root, None, root.name)
    if not items:
        raise InputError("no frames found (expected a vidseg annotate export, a DAVIS or YouTube-VOS "
                         "layout, or frames/ + masks/)", root)
    return items


def split_items(items: Sequence[Item], val_fraction: float = 0.2) -> tuple[list[Item], list[Item]]:
    """``(train, val)`` among the annotated items: the manifest's own split when it gives one;
    else whole videos (every ``1/val_fraction``-th video) when there are at least three; else the
    last ``val_fraction`` of each video's frames as one block of time."""
    annotated = [it for it in items if it.mask is not None]
    if any(it.split for it in annotated):
        return ([it for it in annotated if it.split != "val"], [it for it in annotated if it.split == "val"])
    videos = list(dict.fromkeys(it.video for it in annotated))
    if len(videos) >= 3 and val_fraction > 0:
        held = held_out_videos(videos, val_fraction)
        return [it for it in annotated if it.video not in held], [it for it in annotated if it.video in held]
    train, val = [], []
    for v in videos:
        own = [it for it in annotated if it.video == v]
        cut = len(own) - int(round(len(own) * val_fraction)) if len(own) > 1 else len(own)
        train += own[:cut]
        val += own[cut:]
    return train, val


def held_out_videos(videos: Sequence[str], fraction: float) -> set[str]:
    """About ``fraction`` of ``videos`` (at least one), spread evenly: every k-th from the k-th."""
    n = max(1, round(len(videos) * fraction))
    step = max(1, len(videos) // n)
    return set(list(videos)[step - 1::step][:n])


def class_lookup(classes: Sequence[str]) -> np.ndarray:
    """A 256-entry table from mask object id to class index: one class merges every id into 1;
    several classes map id k to class k (ids beyond them are background); 255 (void) to 0."""
    lut = np.zeros(256, np.uint8)
    if len(classes) <= 1:
        lut[1:255] = 1
    else:
        for k in range(1, len(classes) + 1):
            lut[k] = k
    return lut


def check_items(items: Sequence[Item], what: str = "training set") -> None:
    """Every frame exists, has a mask, and the mask has the frame's size; raises
    :class:`InputError` naming the first file that is wrong."""
    if not items:
        raise InputError(f"the {what} is empty: no annotated frames")
    sizes: dict[Path, tuple[int, int]] = {}
    for it in items:
        if not it.frame.is_file():
            raise InputError("frame listed in the training set is missing", it.frame)
        if it.mask is None or not it.mask.is_file():
            raise InputError("mask missing for this frame", it.mask or it.frame)
        if is_video(it.frame):
            if it.frame not in sizes:
                from vidseg.io.reader import open_video

                with open_video(it.frame) as v:
                    sizes[it.frame] = (v.info.width, v.info.height)
            fw, fh = sizes[it.frame]
        else:
            fw, fh = image_size(it.frame, "frame")
        mw, mh = image_size(it.mask, "mask")
        if (fw, fh) != (mw, mh):
            raise InputError(f"mask is {mw}x{mh} but its frame {it.frame.name} is {fw}x{fh}", it.mask)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at ``size`` = ``(width, height)`` (area filter when shrinking)."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def load_pairs(items: Sequence[Item], size: tuple[int, int], lut: np.ndarray,
               tick: Callable[[], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, H, W, 3) uint8 RGB, labels (N, H, W) uint8 class index)`` at ``size``."""
    w, h = size
    images = np.empty((len(items), h, w, 3), np.uint8)
    labels = np.empty((len(items), h, w), np.uint8)
    from_videos: dict[Path, dict[int, int]] = {}
    for i, it in enumerate(items):
        assert it.mask is not None
        if is_video(it.frame):
            from_videos.setdefault(it.frame, {})[it.index] = i
        else:
            images[i] = resize_image(read_rgb(it.frame, "frame"), size)
        labels[i] = cv2.resize(lut[read_mask(it.mask)], size, interpolation=cv2.INTER_NEAREST)
        if tick is not None:
            tick()
    for video, rows in from_videos.items():  # one streaming pass per video
        from vidseg.io.reader import open_video

        with open_video(video) as v:
            for frame in v:
                if frame.index in rows:
                    images[rows.pop(frame.index)] = resize_image(frame.image, size)
                if not rows:
                    break
        if rows:
            raise InputError(f"has no frame {min(rows)} (a mask is named after it)", video)
    return images, labels


def require_positive(labels: np.ndarray, source: str | Path) -> None:
    """Raise :class:`InputError` when no label map has a foreground pixel."""
    if not np.any(labels):
        raise InputError("no positive pixel in any mask: nothing to learn", source)


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> ``(320, 240)``; sides must be multiples of 16."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size must be WIDTHxHEIGHT, e.g. 320x240, got {text!r}") from None
    if w < 32 or h < 32 or w % 16 or h % 16:
        raise InputError(f"size {w}x{h}: both sides must be multiples of 16 and at least 32")
    return w, h


def to_input(images: np.ndarray, gray: bool) -> np.ndarray:
    """Network input ``(N, C, H, W)`` float32 0..1 from uint8 RGB ``(N, H, W, 3)`` (luma as OpenCV
    computes it when ``gray``)."""
    x = images.astype(np.float32)
    if gray:
        x = x @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2) / 255.0, dtype=np.float32)


@dataclass
class Frames:
    """Frames at a working size with their video's name and ground truth (``None``: no mask)."""

    images: np.ndarray
    videos: list[str]
    gt: list[np.ndarray | None]


def count_frames(source: str | Path) -> int:
    """How many frames a source holds (0 when a stream does not say)."""
    from vidseg.io.reader import open_video

    p = Path(source)
    if p.is_dir():
        return len(find_items(p))
    with open_video(p) as video:
        return len(video)


def read_frames(sources: Sequence[str | Path], size: tuple[int, int], every: int = 1,
                tick: Callable[[], None] | None = None, limit: int | None = None) -> Frames:
    """Every ``every``-th frame of each source (a video, a folder of frames, or a training set in
    any layout :func:`find_items` reads) at ``size``; masks beside the frames become ground truth
    (object ids merged into one class). ``limit``: about that many frames at most, spread evenly
    (the frames are streamed, only the kept ones are held)."""
    from vidseg.io.reader import open_video

    if limit:
        total = sum(count_frames(s) for s in sources)
        every = max(every, -(-total // limit)) if total else every

    images, videos, gt = [], [], []
    lut = class_lookup(["object"])
    for src in sources:
        p = Path(src)
        if p.is_dir():
            for k, it in enumerate(find_items(p)):
                if k % every:
                    continue
                images.append(resize_image(read_rgb(it.frame, "frame"), size))
                videos.append(f"{p.name}/{it.video}")
                gt.append(cv2.resize(lut[read_mask(it.mask)], size, interpolation=cv2.INTER_NEAREST)
                          if it.mask is not None and it.mask.is_file() else None)
                if tick is not None:
                    tick()
        else:
            with open_video(p) as video:
                for frame in video:
                    if frame.index % every:
                        continue
                    images.append(resize_image(frame.image, size))
                    videos.append(p.name)
                    gt.append(None)
                    if tick is not None:
                        tick()
    if not images:
        raise InputError("no frames found", ", ".join(str(s) for s in sources))
    return Frames(np.stack(images), videos, gt)
