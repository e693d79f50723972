"""The real person-full model (when cached) on a photo the test makes: people cut out of a DAVIS
frame with their ground-truth masks and pasted on a rendered background, so the truth is exact."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseg.models.fetch import is_cached
from vidseg.models.registry import BUILTIN


def _need() -> None:
    if not is_cached(BUILTIN["person-full"]):
        pytest.skip("built-in model 'person-full' is not in the cache (run `vidseg models fetch person-full` online)")


def _background(w: int, h: int) -> np.ndarray:
    """A floor and a wall: smooth gradients with a little noise (no people in it)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = np.stack([150 + 40 * xx / w, 140 + 20 * yy / h, 120 + 30 * (1 - xx / w)], axis=2)
    floor = np.stack([90 + 30 * yy / h, 80 + 20 * xx / w, 70 + 10 * yy / h], axis=2)
    img = np.where((yy > 0.55 * h)[..., None], floor, wall)
    img += np.random.default_rng(0).normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, person: np.ndarray, mask: np.ndarray, x: int, y: int) -> np.ndarray:
    """``person`` (its ``mask`` pixels) pasted with its top-left at ``(x, y)``; the pasted mask."""
    h, w = mask.shape
    canvas[y:y + h, x:x + w][mask] = person[mask]
    out = np.zeros(canvas.shape[:2], bool)
    out[y:y + h, x:x + w] = mask
    return out


def _dancer(shared: Path) -> tuple[np.ndarray, np.ndarray]:
    from vidseg.io.palette import read_mask

    seq = shared / "davis2016-dev"
    img = cv2.cvtColor(cv2.imread(str(seq / "JPEGImages/480p/dance-twirl/00030.jpg")), cv2.COLOR_BGR2RGB)
    gt = read_mask(seq / "Annotations/480p/dance-twirl/00030.png") > 0
    ys, xs = np.nonzero(gt)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    person, mask = img[y0:y1, x0:x1], gt[y0:y1, x0:x1].astype(np.uint8)
    size = (round(0.8 * (x1 - x0)), round(0.8 * (y1 - y0)))
    return cv2.resize(person, size, interpolation=cv2.INTER_AREA), cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST) > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))


def test_pasted_people_are_found_whole_with_one_id_each(shared_data: Path) -> None:
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    _need()
    person, mask = _dancer(shared_data)
    h, w = mask.shape
    frame = _background(854, 480)
    truth = [_paste(frame, person, mask, 20, 480 - h - 10),
             _paste(frame, person[:, ::-1], mask[:, ::-1], 854 - w - 20, 480 - h - 30)]
    seg = Segmenter(load_model("person-full", download_ok=False), SegmentOptions(want_probability=True))
    for _ in range(3):  # the same photo a few frames running: found, then followed
        res = seg(frame)
    assert res.instances is not None and res.ids is not None and res.probability is not None
    ious = [[_iou(res.labels == i, t) for t in truth] for i in res.ids.tolist()]
    assert len(ious) == 2, f"found {len(ious)} people"
    best = np.max(ious, axis=0)
    assert np.all(best > 0.75), best  # each pasted person covered, limbs included
    assert len(set(np.argmax(ious, axis=1).tolist())) == 2  # one id each
    stray = int((res.labels[~(truth[0] | truth[1])] > 0).sum())
    assert stray < 0.1 * (truth[0].sum() + truth[1].sum())  # edges only: no blobs on the background
    assert res.probability.shape == (480, 854) and float(res.probability[truth[0]].mean()) > 0.8


def test_the_two_stages_overlapped_give_the_frames_of_the_one_call(shared_data: Path) -> None:
    """``Segmenter.stages()``: the models of frame t+1 beside the rendering of frame t (as
    ``segment_video`` runs them) give exactly what calling the segmenter frame by frame gives."""
    from concurrent.futures import ThreadPoolExecutor

    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    _need()
    person, mask = _dancer(shared_data)
    h, w = mask.shape
    frames = []
    for t in range(8):  # two people walking towards each other
        frame = _background(854, 480)
        _paste(frame, person, mask, 20 + 25 * t, 480 - h - 10)
        _paste(frame, person[:, ::-1], mask[:, ::-1], 854 - w - 20 - 25 * t, 480 - h - 30)
        frames.append(frame)
    model = load_model("person-full", download_ok=False)
    whole = Segmenter(model, SegmentOptions(want_probability=True))
    expected = [whole(f) for f in frames]
    staged = Segmenter(model, SegmentOptions(want_probability=True))
    first, second = staged.stages()
    with ThreadPoolExecutor(max_workers=1) as renderer:  # one thread: frames rendered in order
        pending = [renderer.submit(second, first(f)) for f in frames]
        got = [p.result() for p in pending]
    for a, b in zip(expected, got, strict=True):
        assert np.array_equal(a.labels, b.labels)
        assert a.ids is not None and b.ids is not None and np.array_equal(a.ids, b.ids)
        assert a.probability is not None and b.probability is not None
        assert np.array_equal(a.probability, b.probability)
    assert any(len(r.ids) == 2 for r in got if r.ids is not None)
