"""Layout discovery and mask reading: 0/255 binary versus palette, and the error cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.eval.eval_helpers import write_seq
from vidseg.errors import InputError
from vidseg.eval.dataset import (
    annotation_root,
    find_sequences,
    list_masks,
    pair_sequences,
    read_labels,
)


def test_grey_0_255_is_object_1(tmp_path: Path) -> None:
    a = np.zeros((4, 5), np.uint8)
    a[1:3, 1:4] = 255
    Image.fromarray(a, mode="L").save(tmp_path / "m.png")
    out = read_labels(tmp_path / "m.png")
    assert out.dtype == np.uint8
    assert np.array_equal(out, (a == 255).astype(np.uint8))


def test_palette_255_stays_void(tmp_path: Path) -> None:
    a = np.zeros((4, 5), np.uint8)
    a[0, 0] = 255
    a[2, 2] = 1
    write_seq(tmp_path, [a])
    assert np.array_equal(read_labels(tmp_path / "00000.png"), a)
    b = np.where(a == 1, 0, a).astype(np.uint8)  # palette with only 0 and 255: still void
    write_seq(tmp_path / "b", [b])
    assert np.array_equal(read_labels(tmp_path / "b" / "00000.png"), b)


def test_grey_ids_kept(tmp_path: Path) -> None:
    a = np.array([[0, 1, 2], [3, 255, 0]], np.uint8)
    Image.fromarray(a, mode="L").save(tmp_path / "m.png")
    assert np.array_equal(read_labels(tmp_path / "m.png"), a)


def test_rgb_palette_colours(tmp_path: Path) -> None:
    from vidseg.io.palette import PALETTE

    a = np.array([[0, 1], [2, 1]], np.uint8)
    Image.fromarray(PALETTE[a]).save(tmp_path / "m.png")
    assert np.array_equal(read_labels(tmp_path / "m.png"), a)


def test_bad_png_names_file(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="bad.png"):
        read_labels(tmp_path / "bad.png")
    with pytest.raises(InputError, match="missing.png"):
        read_labels(tmp_path / "missing.png")


def test_layouts(tmp_path: Path) -> None:
    a = np.zeros((4, 4), np.uint8)
    flat = write_seq(tmp_path / "clip", [a, a])
    assert find_sequences(flat) == {"clip": flat}
    root = tmp_path / "DAVIS"
    write_seq(root / "Annotations" / "480p" / "s2", [a])
    write_seq(root / "Annotations" / "480p" / "s10", [a])
    (root / "Annotations" / "480p" / "empty").mkdir()
    ann = annotation_root(root)
    assert ann == root / "Annotations" / "480p"
    assert list(find_sequences(ann)) == ["s2", "s10"]
    assert [p.name for p in list_masks(write_seq(tmp_path / "n", [a, a, a],
                                                 stems=["f10", "f9", "f1"]))] == ["f1.png", "f9.png", "f10.png"]


def test_pairing(tmp_path: Path) -> None:
    a = np.zeros((4, 4), np.uint8)
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    write_seq(gt / "s1", [a])
    write_seq(gt / "s2", [a])
    write_seq(pred / "s1", [a])
    pairs = pair_sequences(gt, pred, sequences=["s1"])
    assert [(p.name, p.gt, p.pred) for p in pairs] == [("s1", gt / "s1", pred / "s1")]
    with pytest.raises(InputError, match="no results for sequence 's2'"):
        pair_sequences(gt, pred)
    with pytest.raises(InputError, match="no ground truth for sequence 'zz'"):
        pair_sequences(gt, pred, sequences=["zz"])
    # a flat ground-truth folder pairs with a flat results folder
    write_seq(tmp_path / "fg", [a])
    write_seq(tmp_path / "fp", [a])
    assert pair_sequences(tmp_path / "fg", tmp_path / "fp")[0].pred == tmp_path / "fp"
    with pytest.raises(InputError, match="not found"):
        pair_sequences(tmp_path / "nope", pred)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="no PNG masks"):
        pair_sequences(tmp_path / "nothing", pred)
