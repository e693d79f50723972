"""Training data for the learned tracking engine: clips of frames with exact masks, their frozen
backbone features computed once and cached, and a sampler of short training clips (STM's
triplets and longer).

Sources: DAVIS-layout folders (``JPEGImages/<res>/<seq>/*.jpg`` with ``Annotations/<res>/<seq>/
*.png``; every frame annotated) and COCO-style images with YOLO-seg polygons, turned into short
pseudo-videos by random affine warps of one image and its masks (as STM / STCN pretrain).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidseg.errors import InputError
from vidseg.eval.dataset import list_masks
from vidseg.io.natsort import natural_key
from vidseg.io.palette import read_mask

WORK_SIZE = (240, 416)  # (h, w) of training frames: multiples of 16


@dataclass
class Clip:
    """Frames of one (pseudo-)video at the training size and their label maps (0 = background)."""

    name: str
    images: np.ndarray  # (T, H, W, 3) uint8 RGB
    labels: np.ndarray  # (T, H, W) uint8 object ids


@dataclass
class FeatureBank:
    """Every clip's frames as backbone features (float16), labels, and each clip's frame range."""

    f4: np.ndarray
    f8: np.ndarray
    f16: np.ndarray
    labels: np.ndarray
    ranges: list[tuple[str, int, int]]  # (clip name, first row, end row)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("f4", "f8", "f16", "labels"):
            tmp = folder / f".{name}.tmp.npy"
            np.save(tmp, getattr(self, name))
            tmp.replace(folder / f"{name}.npy")
        lines = "".join(f"{n}\t{a}\t{b}\n" for n, a, b in self.ranges)
        (folder / "clips.tsv").write_text(lines)

    @classmethod
    def load(cls, folder: Path) -> FeatureBank:
        ranges = []
        for line in (folder / "clips.tsv").read_text().splitlines():
            n, a, b = line.split("\t")
            ranges.append((n, int(a), int(b)))
        arrays = {name: np.load(folder / f"{name}.npy") for name in ("f4", "f8", "f16", "labels")}
        return cls(ranges=ranges, **arrays)

    @staticmethod
    def exists(folder: Path) -> bool:
        return (folder / "clips.tsv").is_file()


def _resize_frame(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def _resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    return cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)


def davis_sequences(root: Path) -> list[tuple[str, Path, Path]]:
    """``(name, frames folder, masks folder)`` of every sequence under a DAVIS-layout ``root``."""
    jpeg = root / "JPEGImages"
    ann = root / "Annotations"
    if not jpeg.is_dir() or not ann.is_dir():
        raise InputError("not a DAVIS-layout folder (needs JPEGImages/ and Annotations/)", root)
    out = []
    for res_dir in sorted(p for p in jpeg.iterdir() if p.is_dir()):
        for seq in sorted((p for p in res_dir.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
            masks = ann / res_dir.name / seq.name
            if masks.is_dir():
                out.append((seq.name, seq, masks))
    if not out:
        raise InputError("no sequences with annotations found", root)
    return out


def load_davis_clip(name: str, frames: Path, masks: Path, size: tuple[int, int] = WORK_SIZE) -> Clip:
    """One DAVIS sequence at ``size``; the label maps' ids as in the PNGs (0/255 -> 0/1)."""
    mask_files = list_masks(masks)
    images, labels = [], []
    for mf in mask_files:
        jpg = frames / f"{mf.stem}.jpg"
        image = cv2.imread(str(jpg), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError("cannot read frame", jpg)
        images.append(_resize_frame(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), size))
        labels.append(_resize_labels(read_mask(mf), size))
    return Clip(name, np.stack(images), np.stack(labels))


def flipped(clip: Clip) -> Clip:
    """The clip mirrored left-right (a second view of the same motion)."""
    return Clip(clip.name + "-flip", np.ascontiguousarray(clip.images[:, :, ::-1]),
                np.ascontiguousarray(clip.labels[:, :, ::-1]))


def zoomed(clip: Clip, factor: float) -> Clip:
    """The clip through a fixed camera zoomed by ``factor`` (scale augmentation): above 1, a crop
    1/``factor`` of the frame's size around the object's mean position (kept inside the frame),
    enlarged; below 1, the frame shrunk about its centre on a black surround."""
    _, h, w = clip.labels.shape
    if factor >= 1.0:
        ys, xs = np.nonzero(clip.labels.any(axis=0))
        cx, cy = (float(xs.mean()), float(ys.mean())) if xs.size else (w / 2, h / 2)
        x0 = min(max(cx - w / (2 * factor), 0.0), w - w / factor)
        y0 = min(max(cy - h / (2 * factor), 0.0), h - h / factor)
    else:
        x0, y0 = w / 2 * (1 - 1 / factor), h / 2 * (1 - 1 / factor)
    m = np.array([[factor, 0.0, -factor * x0], [0.0, factor, -factor * y0]], np.float64)
    images, labels = zip(*(_warp(im, lab, m, (h, w)) for im, lab in zip(clip.images, clip.labels, strict=True)),
                         strict=True)
    return Clip(f"{clip.name}-zoom{factor:g}", np.stack(images), np.stack(labels))


def _warp(image: np.ndarray, labels: np.ndarray, m: np.ndarray, size: tuple[int, int],
          image_border: int = cv2.BORDER_CONSTANT) -> tuple[np.ndarray, np.ndarray]:
    """A frame and its label map moved by the 2x3 affine ``m`` onto a ``size`` (h, w) canvas:
    bilinear for the frame (``image_border`` outside it, black by default), nearest for the
    labels (background outside)."""
    h, w = size
    return (cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=image_border, borderValue=0),
            cv2.warpAffine(labels, m, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0))


def _read_polygons(label_file: Path, w: int, h: int) -> list[np.ndarray]:
    polys = []
    for line in label_file.read_text().splitlines():
        vals = line.split()
        if len(vals) < 7:
            continue
        xy = np.array([float(v) for v in vals[1:]], np.float32).reshape(-1, 2) * (w, h)
        polys.append(xy.round().astype(np.int32))
    return polys


def coco_instance_images(root: Path) -> list[tuple[Path, Path]]:
    """``(image, YOLO-seg label file)`` pairs of a coco128-style folder."""
    pairs = []
    for label_file in sorted((root / "instance_segmentation" / "labels").glob("*/*.txt")):
        image = root / "images" / label_file.parent.name / f"{label_file.stem}.jpg"
        if image.is_file():
            pairs.append((image, label_file))
    if not pairs:
        raise InputError("no images with instance polygons found", root)
    return pairs


def _random_affine(rng: np.random.Generator, size: tuple[int, int], strength: float) -> np.ndarray:
    h, w = size
    angle = rng.uniform(-12, 12) * strength
    scale = 1.0 + rng.uniform(-0.12, 0.12) * strength
    tx, ty = rng.uniform(-0.08, 0.08, 2) * (w, h) * strength
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += (tx, ty)
    return m


def coco_pseudo_clips(root: Path, rng: np.random.Generator, n_frames: int = 3, per_image: int = 2,
                      size: tuple[int, int] = WORK_SIZE, min_area: float = 0.01) -> list[Clip]:
    """Short pseudo-videos from still images: each frame a further random affine warp of a crop of
    the image and its instance masks; instances smaller than ``min_area`` of the crop are dropped."""
    h, w = size
    clips = []
    for image_path, label_file in coco_instance_images(root):
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        ih, iw = image.shape[:2]
        labels = np.zeros((ih, iw), np.uint8)
        for k, poly in enumerate(_read_polygons(label_file, iw, ih)[:254]):
            cv2.fillPoly(labels, [poly], k + 1)
        for rep in range(per_image):
            scale = max(h / ih, w / iw) * rng.uniform(1.0, 1.4)
            sh, sw = int(round(ih * scale)), int(round(iw * scale))
            big = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
            big_lab = cv2.resize(labels, (sw, sh), interpolation=cv2.INTER_NEAREST)
            y0 = int(rng.integers(0, sh - h + 1))
            x0 = int(rng.integers(0, sw - w + 1))
            base, base_lab = big[y0:y0 + h, x0:x0 + w], big_lab[y0:y0 + h, x0:x0 + w]
            ids, counts = np.unique(base_lab, return_counts=True)
            keep = [int(i) for i, c in zip(ids, counts, strict=True) if i and c >= min_area * h * w]
            if not keep:
                continue
            base_lab = np.where(np.isin(base_lab, keep), base_lab, 0).astype(np.uint8)
            frames, labs = [base], [base_lab]
            m_total = np.eye(3)
            for _ in range(n_frames - 1):
                m = np.vstack([_random_affine(rng, size, 1.0), [0, 0, 1]])
                m_total = m @ m_total
                frame, lab = _warp(base, base_lab, m_total[:2], size, image_border=cv2.BORDER_REFLECT)
                frames.append(frame)
                labs.append(lab)
            clips.append(Clip(f"coco-{image_path.stem}-{rep}", np.stack(frames), np.stack(labs)))
    return clips


def extract_features(clips: Sequence[Clip], batch: int = 8,
                     progress: Callable[[int], None] | None = None) -> FeatureBank:
    """Run the frozen backbone over every clip's frames once (float16 results)."""
    from vidseg.models.backbone import Backbone

    backbone = Backbone()
    total = sum(len(c.images) for c in clips)
    h, w = clips[0].images.shape[1:3]
    f4 = np.zeros((total, 24, h // 4, w // 4), np.float16)
    f8 = np.zeros((total, 40, h // 8, w // 8), np.float16)
    f16 = np.zeros((total, 112, h // 16, w // 16), np.float16)
    labels = np.zeros((total, h, w), np.uint8)
    ranges = []
    row = 0
    for clip in clips:
        start = row
        for i in range(0, len(clip.images), batch):
            chunk = clip.images[i:i + batch]
            feats = backbone(chunk)
            n = len(chunk)
            f4[row:row + n], f8[row:row + n], f16[row:row + n] = feats.f4, feats.f8, feats.f16
            labels[row:row + n] = clip.labels[i:i + n]
            row += n
            if progress is not None:
                progress(n)
        ranges.append((clip.name, start, row))
    return FeatureBank(f4, f8, f16, labels, ranges)


@dataclass
class ClipDraw:
    """Rows of the frames of one training clip (time order or reversed) and the object followed."""

    rows: tuple[int, ...]
    obj: int


class ClipSampler:
    """Draws training clips of ``frames`` frames (STM's triplets are 3): frames of one video in
    time order or reversed, gaps growing with ``max_gap``; the followed object is one present in
    the first frame. A still-image pseudo-video shorter than ``frames`` is played forth and back."""

    def __init__(self, bank: FeatureBank, rng: np.random.Generator, coco_fraction: float = 0.3,
                 frames: int = 3) -> None:
        if frames < 2:
            raise InputError(f"a training clip needs at least 2 frames, got {frames}")
        self.bank = bank
        self.rng = rng
        self.frames = frames
        self.video = [r for r in bank.ranges if not r[0].startswith("coco-") and r[2] - r[1] >= frames]
        self.coco = [r for r in bank.ranges if r[0].startswith("coco-") and r[2] - r[1] >= 2]
        if not self.video and not self.coco:
            raise InputError(f"no clip of at least {frames} frames to train on")
        self.coco_fraction = coco_fraction if self.coco and self.video else (1.0 if self.coco else 0.0)

    def _still_rows(self, a: int, b: int) -> list[int]:
        """Forth and back over a pseudo-video's rows: a, a+1, .., b-1, b-2, .., a, a+1, .."""
        cycle = list(range(a, b)) + list(range(b - 2, a, -1))
        return [cycle[i % len(cycle)] for i in range(self.frames)]

    def sample(self, max_gap: int) -> ClipDraw:
        for _ in range(100):
            use_coco = self.rng.random() < self.coco_fraction
            pool = self.coco if use_coco else self.video
            _, a, b = pool[int(self.rng.integers(len(pool)))]
            n = b - a
            if use_coco:
                rows = self._still_rows(a, b)
            else:
                span = min(n - 1, (self.frames - 1) * max_gap)
                i0 = int(self.rng.integers(0, n - span)) if n - span > 0 else 0
                picks = sorted(self.rng.choice(np.arange(1, span + 1), size=self.frames - 1,
                                               replace=False).tolist())
                rows = [a + i0, *(a + i0 + p for p in picks)]
                if self.rng.random() < 0.5:
                    rows = rows[::-1]
            ids = [int(v) for v in np.unique(self.bank.labels[rows[0]]) if v]
            if not ids:
                continue
            return ClipDraw(tuple(rows), ids[int(self.rng.integers(len(ids)))])
        raise InputError("could not find frames with an object to train on")

    def batch(self, size: int, max_gap: int) -> dict[str, np.ndarray]:
        """Arrays for ``size`` clips: features (B, T, C, h, w) float32, ``mask``/``others``
        (B, T, H, W) float32 for the followed object and every other object."""
        draws = [self.sample(max_gap) for _ in range(size)]
        t = self.frames
        rows = np.array([d.rows for d in draws])
        lab = self.bank.labels[rows.reshape(-1)].reshape(size, t, *self.bank.labels.shape[1:])
        obj = np.array([d.obj for d in draws])[:, None, None, None]
        out = {name: getattr(self.bank, name)[rows.reshape(-1)].astype(np.float32).reshape(
            size, t, *getattr(self.bank, name).shape[1:]) for name in ("f4", "f8", "f16")}
        out["mask"] = (lab == obj).astype(np.float32)
        out["others"] = ((lab != obj) & (lab != 0)).astype(np.float32)
        return out
