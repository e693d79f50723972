"""The engine's parts on their own: flow warping, bilateral transfer, classifier, colour memory."""

from __future__ import annotations

import cv2
import numpy as np

from vidseg.vos.appearance import colour_counts, quantize_lab
from vidseg.vos.bilateral import BilateralGrid
from vidseg.vos.classifier import PixelClassifier, pixel_features
from vidseg.vos.flow import FlowEstimator, Warper
from vidseg.vos.memory import ColourMemory


def test_warp_follows_a_translation(scene_factory):
    a, ga = scene_factory("translate", 30).render(0)
    b, gb = np.roll(a, (2, 5), axis=(0, 1)), np.roll(ga, (2, 5), axis=(0, 1))  # the view moves
    gray = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b)]
    flow = FlowEstimator("fast")(gray[1], gray[0])
    warper = Warper(*gray[0].shape)
    moved = warper.warp((ga == 1).astype(np.float32), warper.maps(flow)) > 0.5
    iou = (moved & (gb == 1)).sum() / (moved | (gb == 1)).sum()
    still = ((ga == 1) & (gb == 1)).sum() / ((ga == 1) | (gb == 1)).sum()
    assert iou > 0.9 > still


def test_bilateral_transfer_keeps_labels_on_their_colour():
    h, w = 40, 60
    lab = np.zeros((h, w, 3), np.uint8)
    lab[:, :30] = (60, 128, 128)
    lab[:, 30:] = (200, 128, 128)  # a sharp colour edge at x = 30
    prob = np.zeros((h, w, 2), np.float32)
    prob[:, :30, 0] = 1  # background left, object right
    prob[:, 30:, 1] = 1
    grid = BilateralGrid(h, w, 8, (4, 2, 2))
    shifted = np.roll(lab, 6, axis=1)  # the edge moved right; labels should follow the colours
    shifted[:, :6] = lab[:, :6]
    out, support = grid.transfer(grid.cells(lab), prob, grid.cells(shifted))
    obj = out[..., 1] > 0.5
    assert obj[:, 36:].all() and not obj[:, :36].any()
    assert (support > 0).all()


def test_classifier_separates_object_by_colour_context(scene_factory):
    scene = scene_factory("translate", 30)
    img, gt = scene.render(0)
    feats = pixel_features(cv2.cvtColor(img, cv2.COLOR_RGB2LAB))
    clf = PixelClassifier()
    assert not clf.trained and not clf.logit(feats).any()
    clf.fit(feats, (gt == 1).astype(np.float32))
    img2, gt2 = scene.render(20)
    z = clf.logit(pixel_features(cv2.cvtColor(img2, cv2.COLOR_RGB2LAB)))
    fg = gt2 == 1
    assert 0.5 * ((z[fg] > 0).mean() + (z[~fg] <= 0).mean()) > 0.9


def test_colour_memory_is_bounded_and_scores_object_colours(scene_factory):
    scene = scene_factory("translate", 30)
    img, gt = scene.render(0)
    idx = quantize_lab(cv2.cvtColor(img, cv2.COLOR_RGB2LAB), 16)
    mem = ColourMemory(16, 3, 0.3, 0.7)
    mem.set_given(*colour_counts(idx, (gt == 1).astype(np.float32), 16, 0.25))
    for _ in range(5):
        mem.add(*colour_counts(idx, (gt == 1).astype(np.float32), 16, 0.25))
    assert len(mem) == 3
    llr = mem.lut[idx]
    assert llr[gt == 1].mean() > 1.0 > llr[gt == 0].mean()
