"""Semantic post-processing: argmax fusion, class filter, single-class threshold, padding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.models.card import ModelCard
from vidseg.models.model import Letterbox, load_model
from vidseg.models.toy import conv1x1_onnx
from vidseg.segment.segmenter import Segmenter, SegmentOptions
from vidseg.segment.semantic import (
    class_indices,
    class_maps,
    crop_padding,
    foreground_probability,
    labels_from_maps,
    to_probabilities,
)

CARD = ModelCard(name="t", task="semantic", input_size=(4, 2), labels=("bg", "person", "cat"))


def test_class_maps_accepts_both_layouts() -> None:
    a = np.arange(24, dtype=np.float32).reshape(1, 3, 2, 4)
    np.testing.assert_array_equal(class_maps(a, CARD), a[0])
    np.testing.assert_array_equal(class_maps(a.transpose(0, 2, 3, 1), CARD), a[0])
    assert class_maps(np.zeros((2, 4), np.float32), CARD).shape == (1, 2, 4)
    with pytest.raises(InputError, match="batch is 2"):
        class_maps(np.zeros((2, 3, 2, 4)), CARD)


def test_argmax_at_model_resolution_then_nearest_upscale() -> None:
    maps = np.zeros((3, 2, 2), np.float32)
    maps[1, 0, 0] = 5  # person top-left
    maps[2, 1, 1] = 5  # cat bottom-right
    lab = labels_from_maps(maps, (6, 4), card=CARD)
    expected = np.zeros((4, 6), np.uint8)
    expected[:2, :3] = 1
    expected[2:, 3:] = 2
    np.testing.assert_array_equal(lab, expected)


def test_class_filter_turns_other_classes_into_background() -> None:
    maps = np.zeros((3, 2, 2), np.float32)
    maps[1, 0, 0] = 5
    maps[2, 1, 1] = 5
    keep = class_indices(CARD, ["cat"])
    assert keep == [2]
    lab = labels_from_maps(maps, (2, 2), card=CARD, keep=keep)
    np.testing.assert_array_equal(lab, [[0, 0], [0, 2]])
    assert class_indices(CARD, ["1"]) == [1]
    with pytest.raises(InputError, match="has no class 'dog'.*bg, person, cat"):
        class_indices(CARD, ["dog"])


def test_bilinear_upsampling_smooths_edges() -> None:
    maps = np.zeros((2, 1, 2), np.float32)
    maps[1, 0, 1] = 10.0  # right half foreground
    card = ModelCard(name="t", task="semantic", labels=("bg", "fg"))
    near = labels_from_maps(maps, (8, 1), card=card, upsample="nearest")
    bil = labels_from_maps(maps, (8, 1), card=card, upsample="bilinear")
    np.testing.assert_array_equal(near[0], [0, 0, 0, 0, 1, 1, 1, 1])
    # bilinear probabilities cross 0.5 just left of the middle: the boundary moves, still monotone
    assert bil[0, 0] == 0 and bil[0, -1] == 1 and np.all(np.diff(bil[0].astype(int)) >= 0)


def test_single_channel_probability_is_thresholded() -> None:
    card = ModelCard(name="p", task="semantic", labels=("bg", "person"), output="probabilities")
    maps = np.array([[[0.2, 0.6], [0.49, 0.51]]], np.float32)
    np.testing.assert_array_equal(labels_from_maps(maps, (2, 2), card=card), [[0, 1], [0, 1]])
    np.testing.assert_array_equal(labels_from_maps(maps, (2, 2), card=card, threshold=0.55), [[0, 1], [0, 0]])
    logit_card = ModelCard(name="l", task="semantic", labels=("bg", "x"), output="logits")
    np.testing.assert_array_equal(labels_from_maps(np.array([[[-1.0, 1.0]]], np.float32), (2, 1), card=logit_card),
                                  [[0, 1]])


def test_probabilities_and_foreground() -> None:
    maps = np.log(np.array([0.7, 0.2, 0.1], np.float32))[:, None, None] * np.ones((3, 1, 1), np.float32)
    probs = to_probabilities(maps, CARD)
    np.testing.assert_allclose(probs[:, 0, 0], [0.7, 0.2, 0.1], rtol=1e-5)
    np.testing.assert_allclose(foreground_probability(maps, CARD)[0, 0], 0.3, rtol=1e-5)
    np.testing.assert_allclose(foreground_probability(maps, CARD, keep=[2])[0, 0], 0.1, rtol=1e-5)


def test_crop_padding_removes_letterbox_bars() -> None:
    card = ModelCard(name="t", task="semantic", input_size=(8, 8), labels=("a", "b"))
    lb = Letterbox(1.0, 1.0, 0.0, 2.0, 8, 4)
    maps = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)  # output at half the input size
    np.testing.assert_array_equal(crop_padding(maps, lb, card), maps[:, 1:3, :])


def test_segmenter_end_to_end_on_a_1x1_conv_model(tmp_path: Path) -> None:
    # logits = 10 * (R, G, B) per pixel: the label is the brightest channel
    path = conv1x1_onnx(tmp_path / "rgb.onnx", 10 * np.eye(3, dtype=np.float32), np.zeros(3, np.float32), (4, 4))
    model = load_model(str(path))
    img = np.zeros((8, 8, 3), np.uint8)
    img[:4, :4] = (255, 0, 0)
    img[:4, 4:] = (0, 255, 0)
    img[4:, :] = (0, 0, 255)
    res = Segmenter(model)(img)
    expected = np.zeros((8, 8), np.uint8)
    expected[:4, 4:] = 1
    expected[4:] = 2
    np.testing.assert_array_equal(res.labels, expected)
    res = Segmenter(model, SegmentOptions(classes=("class2",), want_probability=True))(img)
    np.testing.assert_array_equal(res.labels, np.where(expected == 2, 2, 0))
    assert res.probability is not None and res.probability.shape == (8, 8)
    assert res.probability[6, 6] > 0.9 and res.probability[0, 0] < 0.1
