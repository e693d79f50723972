"""The primary-object head: per pixel, how likely it belongs to the video's main object, from the
frozen backbone's features (a small trained network run with ONNX Runtime; its ``head.onnx``
and ``card.json`` with the SHA-256 ship in ``vidseg/vos/auto/weights``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vidseg.models.backbone import Backbone, BackboneFeatures
from vidseg.vos.learned.tracker import _sigmoid, work_size
from vidseg.vos.learned.weights import ort_session, read_card, verified_graph_paths

HEAD_GRAPH = "head"


def shipped_head_dir() -> Path:
    """The folder of the head's weights that ship with vidseg."""
    return Path(__file__).resolve().parent / "weights"


class MainObjectHead:
    """``head(features)`` -> (N, H/4, W/4) float32 probabilities of the main object."""

    def __init__(self, weights: str | Path | None = None, threads: int = 2) -> None:
        folder = Path(weights) if weights else shipped_head_dir()
        self.card = read_card(folder)
        self._session = ort_session(verified_graph_paths(folder, (HEAD_GRAPH,))[HEAD_GRAPH], threads)

    def __call__(self, feats: BackboneFeatures) -> np.ndarray:
        logits = self._session.run(None, {"f4": feats.f4, "f8": feats.f8, "f16": feats.f16})[0]
        return _sigmoid(logits[:, 0])


class SaliencyMapper:
    """Backbone and head together: an RGB frame -> the main-object probability at stride 4 of the
    working size (short side ``work_short``), for frames the tracker does not see (key frames).
    With ``mirror`` the frame and its mirror image are both read and their maps averaged."""

    def __init__(self, head: MainObjectHead | None = None, work_short: int = 240, threads: int = 2,
                 mirror: bool = True) -> None:
        self.head = head or MainObjectHead(threads=threads)
        self.backbone = Backbone(threads=threads)
        self.work_short = work_short
        self.mirror = mirror

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = work_size(image.shape[:2], self.work_short)
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        if not self.mirror:
            return self.head(self.backbone(small))[0]
        prob = self.head(self.backbone(np.stack([small, small[:, ::-1]])))
        return (0.5 * (prob[0] + prob[1, :, ::-1])).astype(np.float32)
