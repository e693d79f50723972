"""The people pipeline's plumbing on synthetic frames, with stand-in models: people are found,
followed without running the detector every frame, and keep their ids through a crossing."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg.segment.identity import IdentityTracker
from vidseg.segment.people.detector import ssd_anchors
from vidseg.segment.people.tracker import SEARCH, PeopleOptions, PeopleSegmenter, views

BACKGROUND = (90, 90, 90)
COLOURS = [(230, 40, 40), (40, 200, 60)]


def _blobs(img: np.ndarray, min_pixels: int = 20) -> list[np.ndarray]:
    """Masks of the figures' colours in an image in 0..1 (those with more than ``min_pixels``)."""
    masks = [np.all(np.abs(img - np.asarray(c) / 255.0) < 0.08, axis=2) for c in COLOURS]
    return [m for m in masks if m.sum() > min_pixels] if min_pixels else masks


class FakeDetector:
    """Reports each coloured figure of the input, encoded on its nearest anchor as the real model
    does: box, hip centre (the figure's centre) and size point (its top middle)."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        a = ssd_anchors()
        raw = np.zeros((1, a.shape[0], 12), np.float32)
        scores = np.full((1, a.shape[0], 1), -10.0, np.float32)
        for m in _blobs((x[0] + 1.0) / 2.0):
            ys, xs = np.nonzero(m)
            cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
            i = int(np.argmin(((a * 224 - [cx, cy]) ** 2).sum(axis=1)))
            ax, ay = a[i] * 224
            raw[0, i, :4] = [cx - ax, cy - ay, xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
            raw[0, i, 4:8] = [cx - ax, cy - ay, cx - ax, ys.min() - ay]
            scores[0, i] = 5.0
        return [raw, scores]


class FakeLandmarks:
    """Segments the figure with the most pixels near the crop's centre; its centre and top middle
    are the landmarks that place the next region."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        img = x[0]
        lm = np.zeros((39, 5), np.float32)
        lm[:, 3:] = 10.0  # visible, present
        seg = np.full((256, 256), -8.0, np.float32)
        flag = np.zeros((1, 1), np.float32)
        near = [(int(m[64:192, 64:192].sum()), k) for k, m in enumerate(_blobs(img, min_pixels=0))]
        count, k = max(near, default=(0, -1))
        if count > 20:
            m = _blobs(img, min_pixels=0)[k]
            ys, xs = np.nonzero(m)
            seg[m] = 8.0
            flag[0, 0] = 1.0
            lm[33, :2] = [(xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2]
            lm[34, :2] = [(xs.min() + xs.max() + 1) / 2, ys.min()]
        return [lm.reshape(1, 195), flag, seg[None, :, :, None]]


def _frame(t: int, n: int, w: int = 320, h: int = 160) -> tuple[np.ndarray, list[np.ndarray]]:
    """Two 16x60 figures crossing: red left to right in front, green right to left behind, lower."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    truth = []
    xs = [40 + (w - 96) * t / (n - 1), w - 56 - (w - 96) * t / (n - 1)]
    tops = [30, 75]
    for k in (1, 0):  # green first: red is in front
        x0, y0 = round(xs[k]), tops[k]
        img[y0:y0 + 60, x0:x0 + 16] = COLOURS[k]
    for k in (0, 1):
        truth.append(np.all(img == COLOURS[k], axis=2))
    return img, truth


def test_two_people_found_followed_and_kept_through_a_crossing() -> None:
    n = 40
    det, lm = FakeDetector(), FakeLandmarks()
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=10, smooth=False, guided_radius=0,
                                                    runs_per_frame=0))
    ids = IdentityTracker()
    seen: list[dict[int, int]] = []
    for t in range(n):
        img, truth = _frame(t, n)
        inst, prob = people(img)
        got = ids.update(inst, img)
        assert prob.shape == img.shape[:2]
        frame_ids = {}
        for k, m in enumerate(truth):
            over = [(np.logical_and(inst.masks[i], m).sum() / max(1, np.logical_or(inst.masks[i], m).sum()), i)
                    for i in range(len(inst))]
            best = max(over, default=(0.0, -1))
            assert best[0] > 0.8, f"frame {t}: figure {k} not segmented (IoU {best[0]:.2f})"
            frame_ids[k] = int(got[best[1]])
        seen.append(frame_ids)
    assert len({s[0] for s in seen}) == 1 and len({s[1] for s in seen}) == 1
    assert seen[0][0] != seen[0][1]
    # followed, not detected every frame: the first frame looks at every view, later ones rarely
    assert det.calls <= len(views(320, 160)) + n // 10 + 1
    assert lm.calls <= 2 * n + 4


def test_one_landmark_run_per_frame_refreshes_people_in_turn() -> None:
    n = 24
    det, lm = FakeDetector(), FakeLandmarks()
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=100, smooth=False, guided_radius=0,
                                                    runs_per_frame=1))
    ious = []
    for t in range(n):
        img, truth = _frame(t, n)
        calls = lm.calls
        inst, _ = people(img)
        assert len(inst) == 2
        if t > 0:
            assert lm.calls - calls == 1  # one run, the other person carried along by its motion
        ious.append([max(np.logical_and(inst.masks[i], m).sum() / np.logical_or(inst.masks[i], m).sum()
                         for i in range(2)) for m in truth])
    # once their motion is known, the carried masks stay on the figures (standing still, a mask
    # carried one frame would keep only ~25%: they move 10 px a frame and are 16 px wide)
    assert np.min(ious[6:]) > 0.6 and np.mean(ious[6:]) > 0.85


def test_nobody_gives_empty_instances() -> None:
    people = PeopleSegmenter(FakeLandmarks(), FakeDetector(), PeopleOptions(smooth=True))
    img = np.zeros((96, 128, 3), np.uint8)
    img[:] = BACKGROUND
    for _ in range(3):
        inst, prob = people(img)
        assert len(inst) == 0 and inst.masks.shape == (0, 96, 128)
        assert prob.shape == (96, 128) and float(prob.max()) < 0.05


@pytest.mark.parametrize(("w", "h", "count"), [(854, 480, 3), (480, 854, 3), (500, 480, 1)])
def test_views(w: int, h: int, count: int) -> None:
    vs = views(w, h)
    assert len(vs) == count and vs[0] == (0, 0, w, h)
    for x0, y0, x1, y1 in vs[1:]:
        assert x1 - x0 == y1 - y0 == min(w, h) and x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h


def test_segmenter_runs_the_people_pipeline_and_needs_its_detector() -> None:
    from vidseg.errors import InputError
    from vidseg.models.model import Model
    from vidseg.models.registry import BUILTIN
    from vidseg.segment.segmenter import Segmenter, SegmentOptions

    lm, det = FakeLandmarks(), FakeDetector()
    lm.input_shape, det.input_shape = (1, 256, 256, 3), (1, 224, 224, 3)  # type: ignore[attr-defined]
    card = BUILTIN["person-full"]
    seg = Segmenter(Model(card, lm, {"detector": det}), SegmentOptions(want_probability=True))  # type: ignore[arg-type]
    assert seg.people is not None and seg.smoother is None  # smoothing happens inside, on by default
    img, truth = _frame(0, 10)
    res = seg(img)
    assert res.ids is not None and sorted(res.ids.tolist()) == [1, 2]
    assert res.probability is not None and res.probability.shape == img.shape[:2]
    got = []
    for m in truth:
        counts = np.bincount(res.labels[m], minlength=256)
        got.append(int(np.argmax(counts)))
        assert got[-1] > 0 and counts[got[-1]] > 0.9 * m.sum()
    assert got[0] != got[1]
    with pytest.raises(InputError, match="detector"):
        Segmenter(Model(card, lm, {}))  # type: ignore[arg-type]


@pytest.mark.parametrize(("gap", "found_again_without_detection"), [(5, True), (20, False)])
def test_a_person_out_of_sight_is_looked_for_where_they_were(gap: int, found_again_without_detection: bool) -> None:
    det, lm = FakeDetector(), FakeLandmarks()
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=1000, smooth=False, guided_radius=0,
                                                    keep_hidden=15, runs_per_frame=0))
    still, _ = _frame(0, 10)
    empty = np.zeros_like(still)
    empty[:] = BACKGROUND
    for _ in range(3):
        assert len(people(still)[0]) == 2
    for _ in range(gap):
        assert len(people(empty)[0]) == 0
    det.calls = 0
    inst, _ = people(still)
    if found_again_without_detection:  # back where they were: found by the landmark model alone
        assert len(inst) == 2 and len(people.people) == 2
    else:  # let go after keep_hidden frames: only the detector finds them again
        assert det.calls > 0 and len(inst) >= 1 and len(people.people) == len(inst)


class FakeProposer:
    """The selfie segmenter's stand-in: probability 1 on every figure, and on a ``pillow`` box."""

    def __init__(self, pillow: tuple[int, int, int, int] | None = None) -> None:
        self.pillow = pillow
        self.calls = 0

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        out = np.zeros(x.shape[:3] + (1,), np.float32)
        for m in _blobs(x[0]):
            out[0, m] = 1.0
        if self.pillow is not None:
            x0, y0, x1, y1 = self.pillow
            out[0, y0:y1, x0:x1] = 1.0
        return [out]


def _passing(t: int, n: int, w: int = 320, h: int = 200) -> tuple[np.ndarray, list[np.ndarray]]:
    """Green (40x80) stands still; red (40x80, in front, 30 px higher) walks past, hiding all of
    green but its lowest 30 rows for a few frames."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    x = round(10 + (w - 60) * t / (n - 1))
    img[70:150, 140:180] = COLOURS[1]
    img[40:120, x:x + 40] = COLOURS[0]
    return img, [np.all(img == c, axis=2) for c in COLOURS]


def test_a_hidden_person_is_carried_by_the_proposer_and_keeps_their_id() -> None:
    n = 30
    det, lm, prop = FakeDetector(), FakeLandmarks(), FakeProposer()
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=1000, smooth=False, guided_radius=0,
                                                    runs_per_frame=0), proposer_backend=prop)
    green_ids, hidden_frames = set(), 0
    for t in range(n):
        img, (red, green) = _passing(t, n)
        inst, _ = people(img)
        assert len(inst) == len(people.ids) <= 2
        for truth, name in ((red, "red"), (green, "green")):
            over = [(np.logical_and(inst.masks[i], truth).sum() / truth.sum(), i) for i in range(len(inst))]
            share, i = max(over, default=(0.0, -1))
            assert share > 0.6, f"frame {t}: {name} not covered ({share:.2f})"
            assert not np.any(inst.masks[i] & ~truth & (red | green)), f"frame {t}: {name} takes the other"
            if name == "green":
                green_ids.add(people.ids[i])
        hidden_frames += any(p.hidden for p in people.people)
    assert hidden_frames > 0  # green was out of the landmark model's sight for a while ...
    assert len(green_ids) == 1  # ... and kept the one id throughout
    assert prop.calls > 0


def test_the_proposer_alone_finds_no_one() -> None:
    """A blob of the selfie segmenter's (a pillow) where no one was ever seen is no person."""
    det, lm, prop = FakeDetector(), FakeLandmarks(), FakeProposer(pillow=(10, 100, 60, 140))
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=2, smooth=False, guided_radius=0),
                             proposer_backend=prop)
    for t in range(12):
        img, (red, _) = _passing(t, 30)
        img[70:150, 140:180] = BACKGROUND  # only red
        inst, _ = people(img)
        assert len(inst) == 1 and np.logical_and(inst.masks[0], red).sum() > 0.7 * red.sum()


class BlindProposer(FakeProposer):
    """A selfie segmenter that sees no one (as it may not see a child whose face is blurred)."""

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        return [np.zeros(x.shape[:3] + (1,), np.float32)]


def _alone(cx: float | None, w: int = 480, h: int = 200) -> np.ndarray:
    """Red (24x80) centred at ``cx``, or no one."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    if cx is not None:
        img[60:140, round(cx) - 12:round(cx) + 12] = COLOURS[0]
    return img


def test_a_person_lost_with_no_blob_is_looked_for_around_where_they_were() -> None:
    """No detector run and no blob: the landmark model alone finds them again beside their last
    region (the offsets of ``SEARCH``), under their old id."""
    det, lm = FakeDetector(), FakeLandmarks()
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=1000, smooth=False, guided_radius=0,
                                                    runs_per_frame=0), proposer_backend=BlindProposer())
    for _ in range(3):
        assert len(people(_alone(300))[0]) == 1
    pid, side = people.ids[0], people.people[0].roi.size
    for _ in range(4):
        assert len(people(_alone(None))[0]) == 0
    det.calls = 0
    back = 300 + SEARCH[1][0] * side
    found = [people.ids == [pid] for _ in range(3 * len(SEARCH)) if len(people(_alone(back))[0]) == 1]
    assert found and all(found) and det.calls == 0
    assert np.isclose(people.people[0].roi.cx, back, atol=0.1 * side)


class DimLandmarks(FakeLandmarks):
    """As :class:`FakeLandmarks`, with the pose presence of whoever it sees set to ``presence``."""

    def __init__(self) -> None:
        super().__init__()
        self.presence = 1.0

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        lm, flag, seg = super().run(x)
        return [lm, flag * self.presence, seg]


@pytest.mark.parametrize("back, seen", [(300, True), (80, False)])
def test_less_evidence_is_needed_where_someone_out_of_sight_was(back: float, seen: bool) -> None:
    """A candidate the landmark model is only 80 % sure of is taken where a person out of sight was
    last (under their id), and not elsewhere (a new person needs 90 %)."""
    det, lm = FakeDetector(), DimLandmarks()
    people = PeopleSegmenter(lm, det, PeopleOptions(redetect_every=1, smooth=False, guided_radius=0,
                                                    runs_per_frame=0), proposer_backend=BlindProposer())
    for _ in range(3):
        assert len(people(_alone(300))[0]) == 1
    pid = people.ids[0]
    for _ in range(2):
        assert len(people(_alone(None))[0]) == 0
    lm.presence = 0.8
    found = [len(people(_alone(back))[0]) for _ in range(4)]
    assert found[1:] == ([1, 1, 1] if seen else [0, 0, 0])  # (found on a frame, shown from the next)
    if seen:
        assert people.ids == [pid]
    lm.presence = 1.0  # fully sure: a person anywhere
    assert [len(people(_alone(back))[0]) for _ in range(2)][-1] == 1
