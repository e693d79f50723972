"""Training-set layouts, splits that never take random frames of one video, and bad sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.train.synthetic_sets import write_set
from vidseg.errors import InputError
from vidseg.train.dataset import (
    check_items,
    class_lookup,
    find_items,
    load_pairs,
    require_positive,
    split_items,
)


@pytest.mark.parametrize("layout", ["frames-masks", "davis", "manifest"])
def test_layouts_find_every_frame_with_its_mask(tmp_path: Path, layout: str) -> None:
    items = find_items(write_set(tmp_path / "set", layout, videos=2, frames=6))
    assert len(items) == 12
    assert {it.video for it in items} == {"clip0", "clip1"}
    assert all(it.mask is not None and it.mask.stem == it.frame.stem for it in items)


def test_split_by_video_when_there_are_several(tmp_path: Path) -> None:
    train, val = split_items(find_items(write_set(tmp_path / "s", videos=3, frames=5)), 0.3)
    assert {it.video for it in val}.isdisjoint({it.video for it in train}) and val


def test_split_by_time_block_for_one_video(tmp_path: Path) -> None:
    train, val = split_items(find_items(write_set(tmp_path / "s", videos=1, frames=10)), 0.2)
    assert [it.index for it in val] == [8, 9]  # the last block, not random frames
    assert max(it.index for it in train) == 7


def test_manifest_split_is_kept(tmp_path: Path) -> None:
    train, val = split_items(find_items(write_set(tmp_path / "s", "manifest", videos=1, frames=8)))
    assert [it.index for it in val] == [6, 7] and len(train) == 6


def test_one_class_merges_ids_and_several_keep_them() -> None:
    assert class_lookup(["cat"])[[0, 1, 2, 255]].tolist() == [0, 1, 1, 0]
    assert class_lookup(["a", "b"])[[0, 1, 2, 3]].tolist() == [0, 1, 2, 0]


def _missing_mask(root: Path) -> str:
    (root / "masks" / "clip0" / "00002.png").unlink()
    return "mask missing"


def _size_mismatch(root: Path) -> str:
    p = root / "masks" / "clip0" / "00001.png"
    Image.open(p).resize((40, 30)).save(p)
    return "mask is 40x30 but its frame"


def _empty(root: Path) -> str:
    for p in (root / "frames" / "clip0").iterdir():
        p.unlink()
    return "no frames found"


@pytest.mark.parametrize("damage", [_missing_mask, _size_mismatch, _empty])
def test_inconsistent_sets_name_the_file(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    root = write_set(tmp_path / "s", videos=1, frames=4)
    expected = damage(root)
    with pytest.raises(InputError, match=expected) as err:
        check_items(find_items(root))
    assert str(root) in str(err.value)


def test_no_positive_pixel_is_an_error(tmp_path: Path) -> None:
    root = write_set(tmp_path / "s", videos=1, frames=3)
    items = find_items(root)
    _, labels = load_pairs(items, (64, 48), class_lookup(["x"]))
    require_positive(labels, root)
    with pytest.raises(InputError, match="no positive pixel"):
        require_positive(np.zeros_like(labels), root)


def test_a_video_with_sparse_masks(tmp_path: Path) -> None:
    from vidseg.io.palette import write_mask
    from vidseg.synthetic import demo_scene, write_video

    scene = demo_scene(96, 64, n_frames=8)
    write_video(scene, tmp_path / "clip.mp4", audio=False)
    masks = tmp_path / "masks"
    masks.mkdir()
    for t in (1, 4, 6):  # annotated frames, named by frame index as `vidseg track -o` writes them
        write_mask(masks / f"{t:05d}.png", scene.render(t)[1])
    items = find_items(tmp_path / "clip.mp4", masks)
    assert [it.index for it in items] == [1, 4, 6]
    check_items(items)
    images, labels = load_pairs(items, (64, 48), class_lookup(["x"]))
    assert images.shape == (3, 48, 64, 3) and labels.any()
    # the frame really is frame 4 of the video: the image agrees with its own mask
    truth = scene.render(4)[0]
    from vidseg.train.dataset import resize_image

    assert np.abs(images[1].astype(int) - resize_image(truth, (64, 48)).astype(int)).mean() < 12
    write_mask(masks / "00099.png", scene.render(0)[1])
    with pytest.raises(InputError, match="has no frame 99"):
        load_pairs(find_items(tmp_path / "clip.mp4", masks), (64, 48), class_lookup(["x"]))
