"""One annotation session: a video, its project folder and the propagation job, with the edits
the page makes (clicks, boxes, strokes) turned into project changes. The HTTP layer
(:mod:`vidseg.annotate.server`) only translates requests to these calls."""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from vidseg.annotate.click_segmenter import ClickSegmenter
from vidseg.annotate.clicks import apply_to_labels, box_mask, click_mask, stroke_mask
from vidseg.annotate.export import TrainingOptions, export
from vidseg.annotate.frames import FrameStore
from vidseg.annotate.project import STATE, Project
from vidseg.annotate.propagate import Propagator
from vidseg.annotate.similar import FeatureMatcher
from vidseg.errors import InputError
from vidseg.vos.engines import Tracker, check_weights, make_tracker

FILL_ALPHA = 110
PROJECT_SUFFIX = ".vidseg"


def default_project_dir(source: str | Path) -> Path:
    """``clip.mp4`` -> ``clip.vidseg/`` beside it; ``frames/`` -> ``frames.vidseg/``."""
    p = Path(source).resolve()
    return p.with_name(p.stem + PROJECT_SUFFIX) if p.is_file() else p.with_name(p.name + PROJECT_SUFFIX)


class AnnotateSession:
    """Everything one ``vidseg annotate`` run works on."""

    def __init__(self, source: str | Path, project_dir: str | Path | None = None, *, engine: str = "default",
                 weights: str | None = None) -> None:
        """``engine`` propagates the masks (``weights``: a learned engine's trained weights instead
        of the shipped ones, checked here before the project is opened)."""
        factory: Callable[[], Tracker] | None = None
        if weights is not None:
            check_weights(engine, weights)
            factory = functools.partial(make_tracker, engine, weights=weights)
        self.frames = FrameStore(source)
        try:
            info = self.frames.source_info()
            folder = Path(project_dir) if project_dir is not None else default_project_dir(source)
            if folder.exists() and not folder.is_dir():
                raise InputError("exists and is not a folder (give another --project)", folder)
            if (folder / STATE).exists():
                self.project = Project.open(folder, info)
                self.resumed = True
            else:
                if folder.is_dir() and any(not n.name.startswith(".") for n in folder.iterdir()):
                    raise InputError("the project folder is not empty and holds no project; give an empty or "
                                     "new folder", folder)
                self.project = Project.create(folder, info)
                self.resumed = False
        except BaseException:
            self.frames.close()
            raise
        self.engine = engine
        self.changed = threading.Condition()
        self.propagator = Propagator(self.project, source, engine, on_change=self.notify, tracker_factory=factory)
        self._export_lock = threading.Lock()
        self.segmenter = ClickSegmenter()
        # one backbone for the page: the matcher takes the click head's features of a frame
        self.matcher = FeatureMatcher(source=lambda key, image: self.segmenter.model.features(key, image))

    # -- change notification (the event stream waits on it) ----------------------------------------
    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def state(self) -> dict[str, Any]:
        s = self.project.summary()
        s["job"] = self.propagator.job.as_dict()
        s["engine"] = self.engine
        s["resumed"] = self.resumed
        return s

    # -- edits -------------------------------------------------------------------------------
    def _object(self, obj: int) -> int:
        if obj not in self.project.object_ids():
            raise InputError(f"no object {obj}: add it first")
        return obj

    def click(self, index: int, obj: int, x: float, y: float, positive: bool = True) -> None:
        """A positive or negative click on object ``obj`` at frame pixel (``x``, ``y``): the click
        head's mask (:mod:`vidseg.vos.click_head`), or where it does not respect the click,
        the colour and feature rules of :func:`~vidseg.annotate.clicks.click_mask`."""
        self._object(obj)
        labels = self.project.labels_or_empty(index)
        image = self.frames.image(index)
        probability = self.propagator.probability(index, obj)
        learned = self.segmenter.mask(index, obj, image, (x, y, positive), labels == obj, probability)
        if learned is not None:
            self._set(index, apply_to_labels(labels, obj, learned), "positive click" if positive else "negative click")
            return
        ref = self._reference(index, obj)

        def similar(px: int, py: int, positive: bool) -> np.ndarray:
            assert ref is not None
            t, m = ref
            ours = self.matcher.features(index, image)
            theirs = self.matcher.features(t, self.frames.image(t))
            return self.matcher.region(theirs, m if positive else ~m, ours, px, py, m.shape)  # type: ignore[arg-type]

        new = click_mask(image, x, y, positive, labels == obj, probability=probability,
                         expected_area=0 if ref is None else int(ref[1].sum()),
                         similar=similar if ref is not None else None)
        self._set(index, apply_to_labels(labels, obj, new), "positive click" if positive else "negative click")

    def _reference(self, index: int, obj: int) -> tuple[int, np.ndarray] | None:
        """The user-set frame nearest ``index`` (another one) where object ``obj`` has pixels, and its mask."""
        for t in sorted((t for t in self.project.user_frames() if t != index), key=lambda t: abs(t - index)):
            m = self.project.mask(t)
            if m is not None and (m == obj).any():
                return t, m == obj
        return None

    def box(self, index: int, obj: int, box: tuple[float, float, float, float]) -> None:
        self._object(obj)
        labels = self.project.labels_or_empty(index)
        self._set(index, apply_to_labels(labels, obj, box_mask(self.frames.image(index), box)), "box")

    def stroke(self, index: int, obj: int, points: list[tuple[float, float]], radius: float, erase: bool) -> None:
        self._object(obj)
        labels = self.project.labels_or_empty(index)
        paint = stroke_mask(labels.shape, points, radius)  # type: ignore[arg-type]
        mine = labels == obj
        new = mine & ~paint if erase else mine | paint
        self._set(index, apply_to_labels(labels, obj, new), "eraser" if erase else "brush")

    def set_mask(self, index: int, png: bytes) -> None:
        """Frame ``index`` gets a whole palette PNG (pixel = object id) as user-set."""
        try:
            with Image.open(io.BytesIO(png)) as im:
                if im.width * im.height > 50_000_000:
                    raise InputError("mask image is too large")
                labels = np.asarray(im if im.mode in ("P", "L") else im.convert("L"), np.uint8)
        except (OSError, ValueError) as exc:
            raise InputError(f"not a PNG mask ({exc})") from exc
        self._set(index, labels, "mask upload")

    def _set(self, index: int, labels: np.ndarray, what: str) -> None:
        self.project.set_user_mask(index, labels, what)
        self.notify()

    # -- pictures ----------------------------------------------------------------------------
    def overlay_png(self, index: int) -> bytes:
        """An RGBA PNG of frame ``index``'s masks: a translucent fill in each object's colour, an
        opaque outline in the colour and a dark rim outside it (visible on any background)."""
        labels = self.project.labels_or_empty(index)
        h, w = labels.shape
        rgba = np.zeros((h, w, 4), np.uint8)
        if labels.any():
            lut = np.zeros((256, 3), np.uint8)
            for o in self.project.objects():
                c = o["color"]
                lut[o["id"]] = (int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16))
            k = np.ones((3, 3), np.uint8)
            edge = (cv2.dilate(labels, k) != labels) | (cv2.erode(labels, k) != labels)
            inner = edge & (labels > 0)
            inner = cv2.dilate(inner.astype(np.uint8), k).astype(bool) & (labels > 0)
            rim = edge & (labels == 0)
            rgba[..., :3] = lut[labels]
            rgba[..., 3] = np.where(labels > 0, FILL_ALPHA, 0)
            rgba[inner, 3] = 255
            rgba[rim] = (0, 0, 0, 170)
        ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise InputError(f"cannot encode the overlay of frame {index}")
        return buf.tobytes()

    def mask_png(self, index: int) -> bytes:
        from vidseg.io.palette import label_image

        out = io.BytesIO()
        label_image(self.project.labels_or_empty(index)).save(out, format="PNG", compress_level=1)
        return out.getvalue()

    # -- export ------------------------------------------------------------------------------
    def export(self, fmt: str, out: Path | None = None, training: TrainingOptions | None = None) -> Path:
        with self._export_lock:
            return export(self.project, fmt, out=out, training=training)

    def close(self) -> None:
        self.propagator.cancel()
        self.propagator.wait(30)
        self.frames.close()
