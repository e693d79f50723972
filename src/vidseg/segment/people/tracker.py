"""Full-body people, several per frame: detect, follow each person's region, segment, combine.

Per frame: every person followed so far gets the landmark model on the region its previous pose
placed (MediaPipe's tracking loop: no detection needed); a person whose pose presence drops below
``min_presence`` (hidden, or gone) is looked for again where they were for ``keep_hidden`` frames,
then let go. The detector runs on the first frame (on the whole frame and on
zoomed halves, so small people are found too), whenever nobody is followed, and otherwise once
every ``redetect_every`` frames on one of those views in turn; a detection where someone is
already followed is ignored. Each person's probability map is laid back on a half-size frame,
the people's maps are combined (a pixel belongs to the most probable person), optionally smoothed
over time along optical flow (:class:`~vidseg.segment.smoothing.TemporalSmoother`), and brought to
full size by a guided filter on the frame (:class:`~vidseg.vos.refine.GuidedUpsampler`), so edges
follow the image instead of the model's pixels.

With a proposer (the selfie segmenter, :mod:`~vidseg.segment.people.proposals`), a person out of
sight is remembered for ``keep_proposed`` frames instead: each frame the largest blob of the
proposer's residual near where they were carries them on (their mask is the blob), the landmark
model retries them on it (with no blob, on regions around where they were last, in turn:
:data:`SEARCH`), a detection where they were last is confirmed on less evidence
(``remembered_presence``), and someone newly found where they were takes their id. Each person has
one id (:attr:`PeopleSegmenter.ids`) for as long as the pipeline follows or remembers them.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vidseg.segment.instance import Instances
from vidseg.segment.people.detector import Detections, PoseDetector
from vidseg.segment.people.landmarks import BODY, SIZE, Pose, PoseLandmarker
from vidseg.segment.people.proposals import Blob, person_probability, residual_blobs
from vidseg.segment.people.roi import Roi, paste, roi_pixel_box
from vidseg.segment.smoothing import TemporalSmoother
from vidseg.vos.refine import GuidedUpsampler


@dataclass(frozen=True)
class PeopleOptions:
    """Settings of :class:`PeopleSegmenter`."""

    redetect_every: int = 8  # frames between detector runs while people are followed
    min_detection: float = 0.15  # detector score for a candidate (the landmark model confirms it)
    min_presence: float = 0.5  # pose presence below which a person is out of sight ...
    keep_hidden: int = 15  # ... and looked for where they were for this many frames, then let go
    proposals: bool = True  # a person out of sight is carried on by the selfie segmenter's blobs
    keep_proposed: int = 150  # ... and remembered this long (frames since a blob was last seen)
    min_blob: float = 0.1  # a blob carries a person when it is 0.1 to 1.5 times their last area
    retry_every: int = 3  # the landmark model retries a person out of sight every this many frames
    new_presence: float = 0.9  # a candidate becomes a person with this pose presence ...
    new_visibility: float = 0.75  # ... and this mean visibility of the 33 body landmarks (0.1 less
    #                               for a candidate the detector scores 0.5 or more)
    remembered_presence: float = 0.75  # the pose presence for a candidate where someone out of
    #                                    sight was last (their region's centre within half its side)
    max_people: int = 6
    runs_per_frame: int = 1  # landmark-model runs per frame (0: every person, every frame)
    work_scale: float = 0.5  # masks are combined at this fraction of the frame size
    threshold: float = 0.5
    smooth: bool = True
    smooth_alpha: float = 0.5
    guided_radius: int = 3  # at the working size; 0: bilinear upsampling
    guided_eps: float = 2e-3


@dataclass
class Observed:
    """What :meth:`PeopleSegmenter.observe` saw in a frame, for :meth:`PeopleSegmenter.render`."""

    image: np.ndarray  # the frame
    small: np.ndarray  # the frame at the working size
    layers: list[np.ndarray]  # each person's probability at the working size: poses, then blobs
    presence: list[float]  # the pose presence of each person seen by the pose models
    blob_scores: list[float]  # the score of each person carried by a blob
    ids: list[int]  # the people's ids, in the order of ``layers``


@dataclass
class _Person:
    roi: Roi  # where to look in the next frame
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # pixels per frame
    pose: Pose | None = None  # the last pose the landmark model gave
    stale: int = 0  # frames since then
    hidden: int = 0  # frames the person has been out of sight (pose presence too low)
    area: float = 0.0  # the person's area when last seen, in pixels of the working size
    peak: float = 0.0  # their largest area seen so far (a last view may have been a partial one)
    pid: int = 0  # the person's id (1, 2, ...; 0 until given)


#: where the landmark model looks for a person out of sight with no blob to follow, in turn:
#: offsets of their last region's centre, in units of its side
SEARCH = ((0.0, 0.0), (-0.5, 0.0), (0.5, 0.0), (-0.5, 0.25), (0.5, 0.25))


def views(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """The regions the detector looks at in turn: the whole frame, then (for a frame longer one
    way than the other) two squares at its ends, so people get more of the detector's 224 pixels."""
    out = [(0, 0, w, h)]
    if w >= 1.3 * h:
        out += [(0, 0, h, h), (w - h, 0, w, h)]
    elif h >= 1.3 * w:
        out += [(0, 0, w, w), (0, h - w, w, h)]
    return out


class PeopleSegmenter:
    """Stateful: call it on consecutive RGB frames; returns the people as :class:`Instances`
    (class 0, score = pose presence) and the frame-size foreground probability."""

    def __init__(self, landmark_backend: Any, detector_backend: Any, options: PeopleOptions | None = None,
                 proposer_backend: Any = None) -> None:
        self.o = options or PeopleOptions()
        self.proposer = proposer_backend if self.o.proposals else None
        self.landmarker = PoseLandmarker(landmark_backend)
        self.detector = PoseDetector(detector_backend, min_score=self.o.min_detection)
        self.smoother = TemporalSmoother(alpha=self.o.smooth_alpha) if self.o.smooth else None
        self.guided = GuidedUpsampler(self.o.guided_radius, self.o.guided_eps)
        self.people: list[_Person] = []
        self.frame = 0
        self._view = 0
        self._lost = False
        self._peak = 0  # the most people seen at once
        self._pid = 0  # the last id given
        self.ids: list[int] = []  # the ids of the last frame's people, in the order of its instances
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidseg-people")

    def reset(self) -> None:
        self.people = []
        self.frame = 0
        self._view = 0
        self._lost = False
        self._peak = 0  # the most people seen at once
        self._pid = 0  # the last id given
        self.ids = []
        if self.smoother is not None:
            self.smoother.reset()

    # --- finding and following people ------------------------------------------------------

    def _views_due(self, image: np.ndarray, lost: bool) -> list[tuple[int, int, int, int]] | None:
        """The views the detector looks at this frame (all on the first frame; one in turn while
        nobody is followed, after someone was lost, or every ``redetect_every`` frames), or None."""
        h, w = image.shape[:2]
        vs = views(w, h)
        if self.frame == 0:
            return vs
        if not self.people or lost or self.frame % self.o.redetect_every == 0:
            self._view += 1
            return [vs[(self._view - 1) % len(vs)]]
        return None

    def _detect(self, image: np.ndarray, chosen: list[tuple[int, int, int, int]]) -> Detections:
        found = [self.detector(image, region=v) for v in chosen]
        return Detections(np.concatenate([d.boxes for d in found]), np.concatenate([d.keypoints for d in found]),
                          np.concatenate([d.scores for d in found]))

    @staticmethod
    def _is_followed(roi: Roi, poses: list[Pose]) -> bool:
        """Whether a region centred on a hip centre is one of ``poses``' people: their hip centres
        closer than an eighth of the larger region's side, sizes within a factor of 2."""
        for p in poses:
            r = p.next_roi()
            if math.hypot(roi.cx - r.cx, roi.cy - r.cy) < 0.125 * max(r.size, roi.size) and \
                    0.5 < roi.size / r.size < 2.0:
                return True
        return False

    def _pick(self) -> set[int]:
        """The people the landmark model sees this frame: at most ``runs_per_frame``, the most
        overdue first (frames since their last run, weighted by their area: big people, whose
        limbs move the most pixels, are refreshed more often; people out of sight less often)."""
        n, runs = len(self.people), self.o.runs_per_frame
        cand = [i for i in range(n) if not (self.people[i].hidden and self.proposer is not None)]
        if runs <= 0 or len(cand) <= runs:
            return set(cand)
        big = max(self.people[i].roi.size for i in cand)

        def due(p: _Person) -> float:  # people out of sight are looked for at a quarter of the rate
            return (p.stale + 1) * (p.roi.size / big) ** 2 * (0.25 if p.hidden else 1.0)

        order = sorted(cand, key=lambda i: -due(self.people[i]))
        return set(order[:runs])

    def _follow(self, image: np.ndarray, detecting: Future[Detections] | None) -> list[Pose]:
        """This frame's poses; ``detecting``: the detector already running on it (when it was due
        before anyone was looked at)."""
        chosen = self._pick()
        current: list[tuple[_Person, Pose, bool]] = []  # (person, pose, seen by the model this frame)
        hidden: list[_Person] = []  # people out of sight for now, looked for again where they were
        self._lost = False
        for i, person in enumerate(self.people):
            if person.hidden and self.proposer is not None:  # see _carry
                hidden.append(dataclasses.replace(person, stale=person.stale + 1, hidden=person.hidden + 1))
            elif i in chosen or person.pose is None:
                pose = self.landmarker(image, person.roi)
                if pose.presence < self.o.min_presence:
                    self._lost = True
                    if person.hidden < self._memory:
                        hidden.append(dataclasses.replace(person, stale=person.stale + 1, hidden=person.hidden + 1))
                    continue
                current.append((person, pose, True))
            elif person.hidden:
                hidden.append(dataclasses.replace(person, stale=person.stale + 1, hidden=person.hidden + 1))
            else:  # not refreshed this frame: its last pose, carried along by its motion
                d = person.velocity * (person.stale + 1)
                current.append((person, person.pose.moved(float(d[0]), float(d[1])), False))
        if detecting is not None:
            det: Detections | None = detecting.result()
        else:
            due = self._views_due(image, self._lost)
            det = self._detect(image, due) if due else None
        found: list[Pose] = []  # people found this frame
        if det is not None:
            for roi, score in zip(det.rois(), det.scores.tolist(), strict=True):
                poses = [c[1] for c in current]
                if len(poses) >= self.o.max_people or self._is_followed(roi, poses):
                    continue
                pose = self.landmarker(image, roi)
                vis = float(pose.visibility[:BODY].mean())
                # where someone out of sight was last, less evidence is needed to see them again
                presence = self.o.remembered_presence if self._nearest(_Person(roi), hidden) else self.o.new_presence
                confirmed = pose.presence >= presence and \
                    (vis >= self.o.new_visibility or (score >= 0.5 and vis >= self.o.new_visibility - 0.1))
                if confirmed and not self._is_followed(pose.next_roi(), poses):
                    current.append((_Person(roi), pose, True))
                    found.append(pose)
        # the next frame's regions: from the poses, moved on by the people's recent motion
        people: list[_Person] = []
        out: list[Pose] = []
        for person, pose, fresh in current:
            if fresh:
                nxt = pose.next_roi()
                if self._is_followed(nxt, [q.pose for q in people if q.pose is not None]):
                    # two regions ended on one person: the other is hidden behind them, maybe
                    if self.proposer is not None and person.pose is not None:
                        hidden.append(dataclasses.replace(person, stale=person.stale + 1, hidden=1))
                    continue
                v = person.velocity
                if person.pose is not None:
                    last = person.pose.next_roi()
                    seen = np.array([nxt.cx - last.cx, nxt.cy - last.cy]) / (person.stale + 1)
                    v = 0.5 * v + 0.5 * seen
                roi = Roi(nxt.cx + float(v[0]), nxt.cy + float(v[1]), nxt.size, nxt.angle)
                people.append(_seen_again(person, roi, v, pose, self.o.work_scale))
            else:
                r = person.roi
                people.append(_Person(Roi(r.cx + float(person.velocity[0]), r.cy + float(person.velocity[1]),
                                          r.size, r.angle), person.velocity, person.pose, person.stale + 1,
                                          area=person.area, peak=person.peak, pid=person.pid))
            out.append(pose)
        visible = [q.pose for q in people if q.pose is not None]
        # a person out of sight is let go when someone is seen where they were: with the proposer,
        # only someone newly found (the people seen all along may hide them for seconds)
        if self.proposer is None:
            gone = [q for q in hidden if self._is_followed(q.roi, visible)]
        else:
            gone = [q for q in hidden if any(math.hypot(q.roi.cx - p.next_roi().cx, q.roi.cy - p.next_roi().cy)
                                             < 0.5 * q.roi.size for p in found)]
        for k, q in enumerate(people):  # someone new takes the id of the person out of sight they are
            if q.pid == 0:
                twin = self._nearest(q, hidden)
                if twin is not None:
                    gone.append(twin)
                people[k] = dataclasses.replace(q, pid=twin.pid if twin is not None else self._new_pid())
        kept = [q for q in hidden if q.hidden <= self._memory and not any(q is g for g in gone)]
        self._peak = max(self._peak, len(people))
        if self.proposer is not None:  # no more people than were ever seen at once: the rest are doubles
            kept = sorted(kept, key=lambda q: q.hidden)[:max(0, self._peak - len(people))]
        self.people = people + kept
        self.ids = [q.pid for q in people]
        return out

    def _new_pid(self) -> int:
        self._pid += 1
        return self._pid

    @staticmethod
    def _nearest(person: _Person, others: list[_Person]) -> _Person | None:
        """The one of ``others`` whose region's centre is nearest ``person``'s, within half its side."""
        r = person.roi
        near = [(math.hypot(q.roi.cx - r.cx, q.roi.cy - r.cy), k) for k, q in enumerate(others)
                if math.hypot(q.roi.cx - r.cx, q.roi.cy - r.cy) < 0.5 * max(q.roi.size, r.size)]
        return others[min(near)[1]] if near else None

    @property
    def _memory(self) -> int:
        return self.o.keep_proposed if self.proposer is not None else self.o.keep_hidden

    def _carry(self, image: np.ndarray, small: np.ndarray, maps: list[np.ndarray], poses: list[Pose],
               proposing: Future[np.ndarray] | None) -> list[float]:
        """People out of sight carried on by the selfie segmenter: each takes the largest blob of
        its residual near where they were last; the landmark model retries them on it (every
        ``retry_every`` frames) and, if it sees them, they are followed again. Appends the maps
        (blob-only people: the blob's probability) and poses; returns the blob-only people's
        scores. ``small``: the frame at the working size; ``proposing``: the proposer already
        running on it."""
        lost = [i for i, p in enumerate(self.people) if p.hidden]
        if self.proposer is None or not lost:
            return []
        h, w = image.shape[:2]
        s = self.o.work_scale
        hs, ws = maps[0].shape if maps else (max(1, round(h * s)), max(1, round(w * s)))
        prob = proposing.result() if proposing is not None else person_probability(self.proposer, small, (ws, hs))
        covered = np.max(maps, axis=0) > 0.3 if maps else np.zeros((hs, ws), bool)
        blobs = residual_blobs(prob, covered, min_area=max(4, round(1e-3 * ws * hs)))
        scores: list[float] = []
        blob_maps: list[np.ndarray] = []  # after every pose's map, so maps follow poses then blobs
        blob_ids: list[int] = []
        taken: set[int] = set()
        for i in sorted(lost, key=lambda k: self.people[k].hidden):
            person = self.people[i]
            blob = self._blob_for(person, blobs, taken, s)
            if blob is None:  # no blob: the landmark model looks around where they were last
                r = person.roi
                dx, dy = SEARCH[(self.frame // self.o.retry_every) % len(SEARCH)]
                roi = Roi(r.cx + dx * r.size, r.cy + dy * r.size, r.size)
            else:
                taken.add(id(blob))
                x0, y0, x1, y1 = blob.box
                side = max(1.3 * max(x1 - x0, y1 - y0) / s, 0.75 * person.roi.size)
                roi = Roi((x0 + x1) / (2 * s), (y0 + y1) / (2 * s), side)
            if self.frame % self.o.retry_every == 0 and len(poses) < self.o.max_people:
                pose = self.landmarker(image, roi)
                vis = float(pose.visibility[:BODY].mean())
                nxt = pose.next_roi()
                alike = blob is not None or 0.6 < nxt.size / person.roi.size < 1.6  # searched: their size
                if pose.presence >= self.o.new_presence and vis >= self.o.new_visibility - 0.1 and alike and \
                        not self._is_followed(nxt, poses):
                    self.people[i] = _seen_again(person, nxt, np.zeros(2), pose, s)
                    maps.append(self._paste(pose, (w, h)))
                    poses.append(pose)
                    self.ids.append(person.pid)
                    continue
            if blob is None:
                continue
            # remembered where the blob is, at the size they had when last seen
            self.people[i] = dataclasses.replace(person, roi=Roi(roi.cx, roi.cy, person.roi.size), hidden=1)
            if person.hidden > 3:  # shown from a second blob within three frames on (one alone may be a pillow)
                continue
            blob_maps.append(np.where(blob.mask, prob, 0.0).astype(np.float32))
            scores.append(0.5)
            blob_ids.append(person.pid)
        maps.extend(blob_maps)
        self.ids.extend(blob_ids)
        return scores

    def _blob_for(self, person: _Person, blobs: list[Blob], taken: set[int], s: float) -> Blob | None:
        """The largest free blob centred within the person's last region, of ``min_blob`` times their
        last area to 1.5 times the largest area they were seen with."""
        r = person.roi
        reach = 0.5 * r.size * s
        for b in blobs:
            cx, cy = b.centre
            if id(b) in taken or not self.o.min_blob * person.area <= b.area <= 1.5 * max(person.area, person.peak):
                continue
            if abs(cx - r.cx * s) <= reach and abs(cy - r.cy * s) <= reach:
                return b
        return None

    def _paste(self, pose: Pose, frame_size: tuple[int, int]) -> np.ndarray:
        w, h = frame_size
        s = self.o.work_scale
        out = np.zeros((max(1, round(h * s)), max(1, round(w * s))), np.float32)
        x0, y0, x1, y1 = roi_pixel_box(pose.roi, (w, h), s)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = paste(pose.mask, pose.roi, (w, h), scale=s, box=(x0, y0, x1, y1))
        return out

    # --- masks -------------------------------------------------------------------------------

    def __call__(self, image: np.ndarray) -> tuple[Instances, np.ndarray]:
        """The people of the next frame and its foreground probability (:meth:`observe` then
        :meth:`render`; :attr:`ids` names the instances)."""
        inst, prob, self.ids = self.render(self.observe(image))
        return inst, prob

    def observe(self, image: np.ndarray) -> Observed:
        """The models' part of a frame: follow, find and carry the people. Frames must be observed
        in order, and rendered in the same order; rendering a frame may overlap observing the next
        (another thread: the two share no state)."""
        h, w = image.shape[:2]
        s = self.o.work_scale
        ws, hs = max(1, round(w * s)), max(1, round(h * s))
        small = cv2.resize(image, (ws, hs), interpolation=cv2.INTER_AREA)
        # the detector and the proposer see only the frame: they run on a second thread while the
        # landmark model follows the people (LiteRT releases the GIL); the results are the same
        due = self._views_due(image, False)
        detecting = self._side.submit(self._detect, image, due) if due else None
        proposing = (self._side.submit(person_probability, self.proposer, small, (ws, hs))
                     if self.proposer is not None and any(p.hidden for p in self.people) else None)
        poses = self._follow(image, detecting)
        self.frame += 1
        layers = [self._paste(p, (w, h)) for p in poses]
        blob_scores = self._carry(image, small, layers, poses, proposing)
        return Observed(image, small, layers, [p.presence for p in poses], blob_scores, list(self.ids))

    def render(self, seen: Observed) -> tuple[Instances, np.ndarray, list[int]]:
        """A frame's people as :class:`Instances` (class 0, score = pose presence), its
        foreground probability at full size and the people's ids: the maps combined, smoothed
        over time and brought to full size along the frame's edges."""
        image, small, layers, blob_scores, ids = seen.image, seen.small, seen.layers, seen.blob_scores, seen.ids
        h, w = image.shape[:2]
        s = self.o.work_scale
        hs, ws = small.shape[:2]
        n_poses = len(seen.presence)
        n = len(layers)
        maps = np.stack(layers) if n else np.zeros((0, hs, ws), np.float32)
        fg = maps.max(axis=0) if n else np.zeros((hs, ws), np.float32)
        if self.smoother is not None:
            fg = self.smoother.step(small, fg[None])[0]
            if n > n_poses:  # a blob is seen now or never: smoothing would halve it as it appears
                fg = np.maximum(fg, maps[n_poses:].max(axis=0))
        prob = np.zeros((h, w), np.float32)
        masks = np.zeros((n, h, w), bool)
        # only around the people (and what smoothing carried over) is the filter worth running
        ys, xs = np.nonzero(fg.max(axis=1) > 0.02)[0], np.nonzero(fg.max(axis=0) > 0.02)[0]
        if ys.size:
            pad = 2 * self.o.guided_radius + 2
            bx0, by0 = max(0, int(xs[0]) - pad), max(0, int(ys[0]) - pad)
            bx1, by1 = min(ws, int(xs[-1]) + 1 + pad), min(hs, int(ys[-1]) + 1 + pad)
            fx0, fy0 = int(bx0 / s), int(by0 / s)
            fx1, fy1 = (w if bx1 == ws else min(w, int(math.ceil(bx1 / s)))), (h if by1 == hs else min(h, int(math.ceil(by1 / s))))
            guide_small = cv2.cvtColor(small[by0:by1, bx0:bx1], cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)
            guide = cv2.cvtColor(image[fy0:fy1, fx0:fx1], cv2.COLOR_RGB2GRAY).astype(np.float32) * (1.0 / 255.0)
            _, full = self.guided(guide_small, np.ascontiguousarray(fg[by0:by1, bx0:bx1, None]), guide)
            assert full is not None
            prob[fy0:fy1, fx0:fx1] = np.clip(full[..., 0], 0.0, 1.0)
            if n:  # each pixel to the most probable person
                owner = cv2.resize(np.argmax(maps[:, by0:by1, bx0:bx1], axis=0).astype(np.uint8),
                                   (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_NEAREST)
                fgm = prob[fy0:fy1, fx0:fx1] > self.o.threshold
                for i in range(n):
                    masks[i, fy0:fy1, fx0:fx1] = fgm & (owner == i)
        if n_poses < n:  # a blob the guided filter or the people's masks left empty is no one
            keep = list(range(n_poses)) + [i for i in range(n_poses, n) if masks[i].any()]
            blob_scores = [blob_scores[i - n_poses] for i in keep[n_poses:]]
            masks, n = masks[keep], len(keep)
            ids = [ids[i] for i in keep]
        if not n:
            return Instances.empty(h, w), prob, ids
        out_boxes = np.zeros((n, 4), np.float32)
        for i in range(n):
            x, y, bw, bh = cv2.boundingRect(masks[i].view(np.uint8))
            out_boxes[i] = (x, y, x + bw, y + bh)
        scores = np.array(seen.presence + blob_scores, np.float32)
        return Instances(masks, out_boxes, scores, np.zeros(n, np.int64)), prob, ids


def _seen_again(person: _Person, roi: Roi, velocity: np.ndarray, pose: Pose, scale: float) -> _Person:
    """``person`` seen with ``pose``: followed from ``roi`` on, with their area (and the largest
    they were seen with) at the working ``scale``."""
    area = _area(pose, scale)
    return _Person(roi, velocity, pose, 0, area=area, peak=max(person.peak, area), pid=person.pid)


def _area(pose: Pose, scale: float) -> float:
    """The person's area (mask above 0.5) in pixels of the frame resized by ``scale``."""
    return float(np.count_nonzero(pose.mask > 0.5)) * (pose.roi.size * scale / SIZE) ** 2
