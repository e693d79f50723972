"""The first pass of automatic tracking: which object is the video's main one, and on which frame
it shows best.

Key frames spread over the whole clip (read by random access) go through the backbone and the
primary-object head. On each, the salient region (probability > 0.5) is split into connected
parts; a frame's *confidence* is how much its salient region stands out (its mean probability
minus the rest's). The key frame chosen to start tracking from is the one whose confidence is
highest once weighted by how typical its salient area is of the clip (a frame where the object
is cut off or merged with clutter has an unusual area), so the choice does not flicker with
single frames. With one object the salient parts are one object (a rider and the bike);
asked for more, the largest parts by salience are the objects, ids by salience.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidseg.io.source import VideoReader

MIN_AREA = 0.003  # a salient part smaller than this share of the frame is ignored
MIN_CONFIDENCE = 0.35  # below this on every key frame: no object stands out
MAX_AREA = 0.7  # a "salient" region over this share of the frame is texture, not an object
MIN_MOTION = 0.05  # with motion maps: a salient region must move unlike the rest on some key frame
PART_SHARE = 0.1  # with one object, parts with less than this share of the largest part's salience are dropped
KEY_EVERY = 10  # frames between key frames (more for long clips: at most MAX_KEYS key frames)
MAX_KEYS = 40


@dataclass
class FoundObject:
    """One discovered object: its id, the key frame it is given on, and its mean probability there."""

    object_id: int
    frame: int
    confidence: float


@dataclass
class Discovery:
    """What the first pass found: the key frames and their confidence, the chosen frame, its
    label map (full size, ids 1..N) and the objects; ``warning`` says when nothing stands out."""

    key_frames: dict[int, float]
    frame: int | None
    labels: np.ndarray | None
    objects: list[FoundObject] = field(default_factory=list)
    warning: str | None = None


def key_frame_indices(n: int, every: int = KEY_EVERY, most: int = MAX_KEYS) -> list[int]:
    """Key frames of an ``n``-frame clip: every ``every``-th (spaced wider past ``most``) and the last."""
    if n <= 0:
        return []
    step = max(every, int(np.ceil(n / most)))
    keys = list(range(0, n, step))
    if keys[-1] != n - 1 and n - 1 - keys[-1] >= step // 2:
        keys.append(n - 1)
    return keys


def salient_parts(prob: np.ndarray, min_area: float = MIN_AREA) -> list[tuple[np.ndarray, float]]:
    """Connected parts of ``prob > 0.5`` of at least ``min_area`` of the map, each with its
    salience (summed probability), most salient first."""
    fg = (prob > 0.5).astype(np.uint8)
    n, comp = cv2.connectedComponents(fg, connectivity=8)
    parts = []
    for k in range(1, n):
        part = comp == k
        if part.mean() >= min_area:
            parts.append((part, float(prob[part].sum())))
    return sorted(parts, key=lambda p: -p[1])


def frame_confidence(prob: np.ndarray, min_area: float = MIN_AREA) -> float:
    """How much the salient region stands out: its mean probability minus the rest's (0 when
    there is no salient region of at least ``min_area``)."""
    fg = prob > 0.5
    if not min_area <= fg.mean() <= MAX_AREA:
        return 0.0
    rest = float(prob[~fg].mean()) if (~fg).any() else 0.0
    return max(0.0, float(prob[fg].mean()) - rest)


def objects_on(prob: np.ndarray, n_objects: int) -> np.ndarray:
    """A label map (ids 1..n by salience) of the objects on one probability map."""
    parts = salient_parts(prob)
    labels = np.zeros(prob.shape, np.uint8)
    if not parts:
        return labels
    if n_objects == 1:
        top = parts[0][1]
        for part, mass in parts:
            if mass >= PART_SHARE * top:
                labels[part] = 1
        return labels
    for k, (part, _) in enumerate(parts[:n_objects]):
        labels[part] = k + 1
    return labels


def motion_contrast(prob: np.ndarray, motion: np.ndarray) -> float:
    """How much more the salient region moves (camera motion taken out) than the rest: the mean
    of ``motion`` (0..1, any size) inside ``prob > 0.5`` minus outside."""
    fg = cv2.resize((prob > 0.5).astype(np.uint8), motion.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    if not fg.any() or fg.all():
        return 0.0
    return float(motion[fg].mean() - motion[~fg].mean())


def choose_key_frame(maps: dict[int, np.ndarray], motion: dict[int, np.ndarray] | None = None,
                     n_objects: int = 1) -> tuple[dict[int, float], int | None]:
    """Each key frame's confidence, and the frame to start from (None when nothing stands out).

    With ``motion`` (each key frame's camera-compensated motion), a clip where no salient region
    moves unlike the rest on any key frame has no object (a still scene: what is salient there is
    texture), and frames where the region moves are preferred."""
    conf = {t: frame_confidence(p) for t, p in maps.items()}
    areas = {t: float((p > 0.5).mean()) for t, p in maps.items() if conf[t] > 0}
    if not areas or max(conf.values()) < MIN_CONFIDENCE:
        return conf, None
    moving = {t: motion_contrast(maps[t], motion[t]) for t in areas} if motion else {t: 0.5 for t in areas}
    if max(moving.values()) < MIN_MOTION:
        return conf, None
    typical = float(np.median(list(areas.values())))

    def score(t: int) -> float:
        return conf[t] * float(np.exp(-abs(np.log(areas[t] / typical))))

    if n_objects > 1:
        shown = {t: min(n_objects, len(salient_parts(maps[t]))) for t in areas}
        most = max(shown.values())
        return conf, max((t for t in areas if shown[t] == most), key=score)
    return conf, max(areas, key=score)


def discover(reader: VideoReader, saliency: Callable[[int, np.ndarray], np.ndarray], n_objects: int = 1,
             keys: Iterable[int] | None = None,
             wrap: Callable[[list[int]], Iterable[int]] | None = None,
             motion: Callable[[int, np.ndarray], np.ndarray] | None = None) -> Discovery:
    """The first pass over ``reader``'s key frames (``keys``, default :func:`key_frame_indices`):
    ``saliency(index, image)`` gives a frame's main-object probability map at any size, and
    ``motion(index, image)``, when given, its camera-compensated motion (see
    :func:`choose_key_frame`)."""
    frames = list(keys) if keys is not None else key_frame_indices(len(reader))
    maps: dict[int, np.ndarray] = {}
    moves: dict[int, np.ndarray] = {}
    size = (reader.info.height, reader.info.width)
    for t in frames if wrap is None else wrap(frames):
        image = reader.read(t).image
        maps[t] = saliency(t, image)
        if motion is not None:
            moves[t] = motion(t, image)
    conf, best = choose_key_frame(maps, moves or None, n_objects)
    key_conf = {t: round(c, 4) for t, c in conf.items()}
    if best is None:
        return Discovery(key_conf, None, None, warning="no object stands out on any key frame (nothing "
                         "salient that moves unlike the rest): the masks are empty")
    prob = maps[best]
    small = objects_on(prob, n_objects)
    labels = cv2.resize(small, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    soft = cv2.resize(prob, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    labels = np.where(soft > 0.5, labels, 0).astype(np.uint8)  # smooth edges, ids kept
    objects = [FoundObject(o, best, round(float(prob[small == o].mean()), 4))
               for o in range(1, int(small.max()) + 1) if (labels == o).any()]
    warning = None
    if len(objects) < n_objects:
        warning = f"{n_objects} objects asked for, {len(objects)} found"
    return Discovery(key_conf, best, labels, objects, warning)
