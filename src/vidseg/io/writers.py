"""Mask outputs: DAVIS palette PNG folders, COCO RLE JSON, and (re-exported) videos."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from vidseg.errors import ArgumentError, OutputError
from vidseg.io.atomic import (
    atomic_path,
    check_writable,
    clean_stale_temporaries,
    keeps_partial,
    partial_path,
    write_bytes_atomic,
)
from vidseg.io.frames import Frame
from vidseg.io.palette import write_mask
from vidseg.io.video_writer import MaskVideoWriter, OverlayVideoWriter

__all__ = ["MaskFolderWriter", "MaskVideoWriter", "OverlayVideoWriter", "RleWriter"]


def _check_labels(labels: np.ndarray) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ArgumentError(f"label map must be 2-D, got shape {lab.shape}")
    if lab.dtype != np.uint8:
        if lab.size and (int(lab.min()) < 0 or int(lab.max()) > 255):
            raise ArgumentError("label ids must be in 0..255")
        lab = lab.astype(np.uint8)
    return lab


class MaskFolderWriter:
    """Writes ``<folder>/<stem>.png`` palette PNGs (pixel = object id), each atomically.

    A folder that already holds PNG masks is refused without ``force``. ``per_object`` also
    writes ``<folder>/<id>/<stem>.png`` binary 0/255 masks for every id present.
    """

    def __init__(self, folder: str | Path, *, force: bool = False, per_object: bool = False) -> None:
        self.folder = Path(folder)
        self.force = force
        self.per_object = per_object
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError("exists and is not a folder", self.folder)
        check_writable(self.folder / ".vidseg-probe", force=True)
        clean_stale_temporaries(self.folder)
        if not force and any(not p.name.startswith(".") for p in self.folder.glob("*.png")):
            raise OutputError("folder already holds masks (use --force to overwrite)", self.folder)
        self.written = 0
        self._ids: set[int] = set()

    def write(self, stem: str, labels: np.ndarray) -> None:
        """Write the label map of the frame named ``stem``."""
        lab = _check_labels(labels)
        with atomic_path(self.folder / f"{stem}.png", force=self.force) as tmp:
            write_mask(tmp, lab)
        if self.per_object:
            present = {int(i) for i in np.flatnonzero(np.bincount(lab.ravel(), minlength=256)[1:]) + 1}
            for obj in sorted(present | self._ids):
                sub = self.folder / str(obj)
                if obj not in self._ids:
                    check_writable(sub / ".vidseg-probe", force=True)
                    self._ids.add(obj)
                with atomic_path(sub / f"{stem}.png", force=self.force) as tmp:
                    _write_binary(tmp, lab == obj)
        self.written += 1

    def close(self) -> None:
        """Nothing is buffered; kept for symmetry with the other writers."""

    def __enter__(self) -> MaskFolderWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _write_binary(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(str(path), format="PNG", compress_level=1)


def encode_rle(masks: np.ndarray) -> list[dict[str, Any]]:
    """COCO RLEs of an ``(N, H, W)`` bool stack via pycocotools, each with ``size``, ``counts``
    (str), ``area`` and ``bbox`` ([x, y, w, h])."""
    stack = np.asfortranarray(np.moveaxis(masks.astype(np.uint8), 0, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pycocotools vs numpy 2 __array__
        rles = mask_utils.encode(stack)
        areas = mask_utils.area(rles)
        boxes = mask_utils.toBbox(rles)
    return [
        {"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii"),
         "area": int(a), "bbox": [float(v) for v in b]}
        for r, a, b in zip(rles, areas, boxes, strict=True)
    ]


class RleWriter:
    """Collects COCO-style RLE annotations per frame and writes one JSON file at :meth:`close`.

    The file holds ``images`` (id, file_name = stem, height, width, frame_index, time),
    ``annotations`` (id, image_id, category_id, object_id, segmentation {size, counts},
    area, bbox [x, y, w, h], score when given) and ``categories``. An exception inside the
    ``with`` block writes nothing, except a :class:`~vidseg.errors.DecodeError` (the input broke
    part-way): the frames collected until then go to ``partial_path(path)``, listed in the error.
    """

    def __init__(self, path: str | Path, *, force: bool = False, categories: list[dict[str, Any]] | None = None) -> None:
        self.path = check_writable(path, force=force)
        clean_stale_temporaries(self.path.parent, self.path.name)
        self.force = force
        self.categories = categories if categories is not None else [{"id": 1, "name": "object"}]
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self._image_ids: dict[int, int] = {}
        self._closed = False

    def _image_id(self, frame: Frame, h: int, w: int) -> int:
        iid = self._image_ids.get(frame.index)
        if iid is None:
            iid = len(self.images) + 1
            self._image_ids[frame.index] = iid
            self.images.append({
                "id": iid, "file_name": frame.stem, "height": h, "width": w,
                "frame_index": frame.index, "time": frame.time,
            })
        return iid

    def add_labels(self, frame: Frame, labels: np.ndarray, *, category_id: int = 1) -> None:
        """One annotation per object id present in the HxW label map (``object_id`` = id)."""
        lab = _check_labels(labels)
        ids = np.flatnonzero(np.bincount(lab.ravel(), minlength=256)[1:]) + 1
        if ids.size == 0:
            self._image_id(frame, *lab.shape)
            return
        masks = lab[None, :, :] == ids[:, None, None]
        self.add_instances(frame, masks, [int(i) for i in ids], category_ids=[category_id] * ids.size)

    def add_instances(
        self,
        frame: Frame,
        masks: np.ndarray,
        object_ids: Sequence[int],
        *,
        scores: Sequence[float] | None = None,
        category_ids: Sequence[int] | None = None,
    ) -> None:
        """One annotation per ``(N, H, W)`` bool mask, with its object id, score and category."""
        if self._closed:
            raise ArgumentError("writer is closed")
        m = np.asarray(masks)
        if m.ndim != 3:
            raise ArgumentError(f"masks must be (N, H, W), got shape {m.shape}")
        n, h, w = m.shape
        for name, seq in (("object_ids", object_ids), ("scores", scores), ("category_ids", category_ids)):
            if seq is not None and len(seq) != n:
                raise ArgumentError(f"{name} has {len(seq)} entries for {n} masks")
        iid = self._image_id(frame, h, w)
        if n == 0:
            return
        for k, rle in enumerate(encode_rle(m.astype(bool))):
            ann: dict[str, Any] = {
                "id": len(self.annotations) + 1, "image_id": iid,
                "category_id": int(category_ids[k]) if category_ids is not None else 1,
                "object_id": int(object_ids[k]),
                "segmentation": {"size": rle["size"], "counts": rle["counts"]},
                "area": rle["area"], "bbox": rle["bbox"],
            }
            if scores is not None:
                ann["score"] = float(scores[k])
            self.annotations.append(ann)

    def to_dict(self) -> dict[str, Any]:
        return {"images": self.images, "annotations": self.annotations, "categories": self.categories}

    def close(self) -> None:
        """Write the JSON file atomically."""
        if self._closed:
            return
        self._closed = True
        data = json.dumps(self.to_dict(), separators=(",", ":")).encode()
        write_bytes_atomic(self.path, data, force=self.force)

    def __enter__(self) -> RleWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        elif keeps_partial(exc) and self.images and not self._closed:
            self._closed = True
            where = partial_path(self.path)
            data = json.dumps(self.to_dict(), separators=(",", ":")).encode()
            write_bytes_atomic(where, data, force=True)
            exc.partial.append(str(where))  # type: ignore[union-attr]
        else:
            self._closed = True
