"""Full-body people, several per frame, from MediaPipe's BlazePose models (`person-full`).

:mod:`~vidseg.segment.people.roi` (rotated regions and their affine maps),
:mod:`~vidseg.segment.people.detector` (the person detector: anchors, decoding, weighted NMS),
:mod:`~vidseg.segment.people.landmarks` (the landmark model's pose and person mask on a region),
:mod:`~vidseg.segment.people.proposals` (the selfie segmenter's blobs, where a lost person still shows),
:mod:`~vidseg.segment.people.tracker` (finding, following and combining people frame by frame).
"""

from vidseg.segment.people.tracker import PeopleOptions, PeopleSegmenter

__all__ = ["PeopleOptions", "PeopleSegmenter"]
