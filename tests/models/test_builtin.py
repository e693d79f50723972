"""The built-in selfie segmenters on real photos, when they are cached (person-full: see
tests/segment/people/test_real_model.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseg.models.fetch import cached_path
from vidseg.models.registry import BUILTIN


def _need(name: str) -> None:
    if not cached_path(BUILTIN[name]).is_file():
        pytest.skip(f"built-in model {name!r} is not in the cache (run `vidseg models fetch {name}` online)")


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("name", ["selfie", "selfie-landscape", "person-landscape"])
def test_person_model_finds_the_dancer(name: str, shared_data: Path) -> None:
    from vidseg.io.palette import read_mask
    from vidseg.models.model import load_model
    from vidseg.segment.segmenter import Segmenter

    _need(name)
    seq = shared_data / "davis2016-dev"
    img = _rgb(seq / "JPEGImages/480p/dance-twirl/00000.jpg")
    gt = read_mask(seq / "Annotations/480p/dance-twirl/00000.png") > 0
    model = load_model(name, download_ok=False)
    assert model.backend.input_shape == (1, model.card.height, model.card.width, 3)
    res = Segmenter(model)(img)
    pred = res.labels == 1
    assert set(np.unique(res.labels).tolist()) <= {0, 1}
    iou = (pred & gt).sum() / (pred | gt).sum()
    assert iou > 0.6


def test_person_model_gives_probabilities(shared_data: Path) -> None:
    from vidseg.models.model import load_model

    _need("selfie")
    model = load_model("selfie", download_ok=False)
    (out,), _ = model.run(_rgb(shared_data / "real-clips/bedroom/00050.jpg"))
    assert out.shape == (1, 256, 256, 1)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert 0.02 < float((out > 0.5).mean()) < 0.5  # a person, not the whole room
