"""The pretrained weights classify real DAVIS frames as ImageNet does (proof they loaded right)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidseg.models.backbone import (
    backbone_weights_path,
    build_classifier_graph,
    read_legacy_state_dict,
)

ort = pytest.importorskip("onnxruntime")

BLACK_SWAN = 100
# road vehicles: ambulance, beach wagon, cab, convertible, jeep, limousine, minibus, minivan,
# Model T, moving van, pickup, police van, racer, sports car
CARS = {407, 436, 468, 511, 609, 627, 654, 656, 661, 675, 717, 734, 751, 817}


def _imagenet_eval_crop(path: Path) -> np.ndarray:
    """Shorter side to 256 (bilinear), centre crop 224: uint8 RGB 224x224x3."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    r = 256 / min(w, h)
    im = im.resize((round(w * r), round(h * r)), Image.Resampling.BILINEAR)
    w, h = im.size
    left, top = (w - 224) // 2, (h - 224) // 2
    return np.asarray(im.crop((left, top, left + 224, top + 224)))


@pytest.fixture(scope="module")
def classify() -> Callable[[np.ndarray], np.ndarray]:
    state = read_legacy_state_dict(backbone_weights_path())
    session = ort.InferenceSession(build_classifier_graph(state).SerializeToString(),
                                   providers=["CPUExecutionProvider"])

    def run(image: np.ndarray) -> np.ndarray:
        blob = image[None].transpose(0, 3, 1, 2).astype(np.float32)
        logits = session.run(["logits"], {"image": blob})[0][0].astype(np.float64)
        p = np.exp(logits - logits.max())
        return p / p.sum()

    return run


@pytest.mark.parametrize(("seq", "frame", "expected"), [
    ("blackswan", "00000", {BLACK_SWAN}),
    ("blackswan", "00030", {BLACK_SWAN}),
    ("car-shadow", "00000", CARS),
    ("car-shadow", "00020", CARS),
])
def test_top1_on_davis_frames(shared_data: Path, classify: Callable[[np.ndarray], np.ndarray], seq: str, frame: str,
                              expected: set[int]) -> None:
    path = shared_data / "davis2016-dev" / "JPEGImages" / "480p" / seq / f"{frame}.jpg"
    if not path.is_file():
        pytest.skip(f"DAVIS frame {path} is absent")
    probs = classify(_imagenet_eval_crop(path))
    top1 = int(np.argmax(probs))
    assert top1 in expected, f"{seq}/{frame}: top-1 {top1} ({probs[top1]:.2f})"
    if expected == {BLACK_SWAN}:
        assert probs[top1] > 0.5
