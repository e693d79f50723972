"""Palette PNG folders and COCO RLE JSON: exact round trips, atomicity, refusal without force."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from vidseg.errors import OutputError
from vidseg.io import MaskFolderWriter, RleWriter, read_mask
from vidseg.io.atomic import TMP_PREFIX, temp_prefix
from vidseg.io.frames import Frame
from vidseg.synthetic import demo_scene


def _labels(n: int = 3, w: int = 80, h: int = 60) -> list[np.ndarray]:
    scene = demo_scene(w, h, n)
    return [scene.render(t)[1] for t in range(n)]


def _frame(i: int, h: int = 60, w: int = 80) -> Frame:
    return Frame(index=i, time=i / 25, stem=f"{i:05d}", image=np.zeros((h, w, 3), np.uint8))


def test_palette_folder_round_trip_and_per_object(tmp_path):
    labs = _labels()
    labs[1][:5, :5] = 7  # an id that appears in one frame only
    with MaskFolderWriter(tmp_path / "m", per_object=True) as w:
        for i, lab in enumerate(labs):
            w.write(f"{i:05d}", lab)
    for i, lab in enumerate(labs):
        np.testing.assert_array_equal(read_mask(tmp_path / "m" / f"{i:05d}.png"), lab)
        for obj in (1, 2):
            binary = read_mask(tmp_path / "m" / str(obj) / f"{i:05d}.png", binary_255_is_object=False)
            assert set(np.unique(binary).tolist()) <= {0, 255}
            np.testing.assert_array_equal(binary == 255, lab == obj)
    assert sorted(p.name for p in (tmp_path / "m" / "7").iterdir()) == ["00001.png", "00002.png"]


def test_folder_with_masks_refused_without_force(tmp_path):
    lab = _labels(1)[0]
    with MaskFolderWriter(tmp_path / "m") as w:
        w.write("a", lab)
    with pytest.raises(OutputError, match="already holds masks"):
        MaskFolderWriter(tmp_path / "m")
    with MaskFolderWriter(tmp_path / "m", force=True) as w:
        w.write("a", np.zeros_like(lab))
    assert read_mask(tmp_path / "m" / "a.png").max() == 0


def test_stale_temporaries_cleaned_on_rerun(tmp_path, dead_pid):
    d = tmp_path / "m"
    d.mkdir()
    stale = d / f"{temp_prefix('00000.png', pid=dead_pid)}abc.png"
    stale.write_bytes(b"half")
    busy = d / f"{temp_prefix('00001.png')}abc.png"  # this process is alive: its file stays
    busy.write_bytes(b"half")
    MaskFolderWriter(d)
    assert not stale.exists() and busy.exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rle_round_trip_exact(tmp_path):
    labs = _labels(3)
    path = tmp_path / "r.json"
    with RleWriter(path) as w:
        for i, lab in enumerate(labs):
            w.add_labels(_frame(i), lab)
    data = json.loads(path.read_text())
    assert [im["file_name"] for im in data["images"]] == ["00000", "00001", "00002"]
    assert data["categories"] == [{"id": 1, "name": "object"}]
    by_image: dict[int, np.ndarray] = {}
    for ann in data["annotations"]:
        assert isinstance(ann["segmentation"]["counts"], str)
        m = mask_utils.decode({"size": ann["segmentation"]["size"], "counts": ann["segmentation"]["counts"].encode()})
        img = by_image.setdefault(ann["image_id"], np.zeros((60, 80), np.uint8))
        img[m.astype(bool)] = ann["object_id"]
        assert ann["area"] == int(m.sum())
        ys, xs = np.nonzero(m)
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    for im in data["images"]:
        np.testing.assert_array_equal(by_image[im["id"]], labs[im["frame_index"]])


def test_rle_instances_with_scores_and_categories(tmp_path):
    masks = np.zeros((2, 10, 12), bool)
    masks[0, 2:5, 3:7] = True
    masks[1, 6:9, 1:2] = True
    with RleWriter(tmp_path / "i.json", categories=[{"id": 3, "name": "cat"}]) as w:
        w.add_instances(_frame(4, 10, 12), masks, [11, 12], scores=[0.9, 0.5], category_ids=[3, 3])
    data = json.loads((tmp_path / "i.json").read_text())
    anns = data["annotations"]
    assert [a["object_id"] for a in anns] == [11, 12] and [a["score"] for a in anns] == [0.9, 0.5]
    assert [a["area"] for a in anns] == [12, 3] and data["images"][0]["frame_index"] == 4


def test_rle_exception_writes_nothing_and_existing_refused(tmp_path):
    path = tmp_path / "r.json"
    with pytest.raises(RuntimeError), RleWriter(path) as w:
        w.add_labels(_frame(0), _labels(1)[0])
        raise RuntimeError("boom")
    assert not path.exists() and not list(tmp_path.glob(TMP_PREFIX + "*"))
    path.write_text("{}")
    with pytest.raises(OutputError, match="already exists"):
        RleWriter(path)


def test_output_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot create folder"):
        MaskFolderWriter(blocker / "masks")
    with pytest.raises(OutputError, match="cannot create folder"):
        RleWriter(blocker / "sub" / "r.json")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            MaskFolderWriter(ro / "masks")
        with pytest.raises(OutputError, match="not writable"):
            RleWriter(ro / "r.json")
    finally:
        ro.chmod(0o700)
