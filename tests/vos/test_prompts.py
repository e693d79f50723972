from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vidseg.errors import InputError
from vidseg.io.palette import write_mask
from vidseg.vos import load_prompts

STEMS = [f"{i:05d}" for i in range(10)]
SIZE = (48, 64)  # (height, width)


def labels(h=48, w=64, ids=(1,)):
    m = np.zeros((h, w), np.uint8)
    for k, i in enumerate(ids):
        m[5 + 10 * k : 12 + 10 * k, 5:20] = i
    return m


def test_single_png_defaults_to_frame_zero_and_frame_option(tmp_path: Path):
    f = tmp_path / "m.png"
    write_mask(f, labels(ids=(1, 2)))
    out = load_prompts(f, STEMS, SIZE)
    assert list(out) == [0] and sorted(np.unique(out[0]).tolist()) == [0, 1, 2]
    assert list(load_prompts(f, STEMS, SIZE, frame=4)) == [4]


def test_binary_255_png_is_one_object(tmp_path: Path):
    f = tmp_path / "m.png"
    Image.fromarray(labels() * 255).save(f)
    out = load_prompts(f, STEMS, SIZE)
    assert np.unique(out[0]).tolist() == [0, 1]


def test_folder_named_like_frames(tmp_path: Path):
    write_mask(tmp_path / "00000.png", labels(ids=(1,)))
    write_mask(tmp_path / "00005.png", labels(ids=(2,)))
    write_mask(tmp_path / "8.png", labels(ids=(3,)))  # numeric stems match by value
    out = load_prompts(tmp_path, STEMS, SIZE)
    assert sorted(out) == [0, 5, 8]
    assert np.unique(out[5]).tolist() == [0, 2]


def test_unknown_frame_count_matches_masks_by_frame_number(tmp_path: Path):
    write_mask(tmp_path / "00012.png", labels(ids=(1,)))
    write_mask(tmp_path / "40.png", labels(ids=(2,)))
    assert sorted(load_prompts(tmp_path, None, SIZE)) == [12, 40]
    assert list(load_prompts(tmp_path / "40.png", None, SIZE, frame=900)) == [900]
    (tmp_path / "first.png").write_bytes((tmp_path / "40.png").read_bytes())
    with pytest.raises(InputError, match="no frame is named 'first'"):
        load_prompts(tmp_path, None, SIZE)


def test_one_pixel_narrow_mask_is_resized_with_a_warning(tmp_path: Path):
    f = tmp_path / "00005.png"
    write_mask(f, labels(h=480, w=853))
    warnings: list[str] = []
    out = load_prompts(f, STEMS, (480, 854), frame=5, warn=warnings.append)
    assert out[5].shape == (480, 854)
    assert len(warnings) == 1 and "853x480" in warnings[0] and "854x480" in warnings[0]
    assert set(np.unique(out[5]).tolist()) == {0, 1}  # nearest neighbour: no new ids


def test_other_aspect_ratio_is_an_error_naming_both_sizes(tmp_path: Path):
    f = tmp_path / "m.png"
    write_mask(f, labels(h=48, w=48))
    with pytest.raises(InputError, match=r"48x48.*64x48") as err:
        load_prompts(f, STEMS, SIZE)
    assert "m.png" in str(err.value)


def test_errors_name_the_file(tmp_path: Path):
    empty = tmp_path / "empty.png"
    write_mask(empty, np.zeros((48, 64), np.uint8))
    with pytest.raises(InputError, match="empty.png: mask is empty"):
        load_prompts(empty, STEMS, SIZE)
    good = tmp_path / "good.png"
    write_mask(good, labels())
    with pytest.raises(InputError, match="frame 12 but the video has 10 frames"):
        load_prompts(good, STEMS, SIZE, frame=12)
    with pytest.raises(InputError, match="not found"):
        load_prompts(tmp_path / "missing.png", STEMS, SIZE)
    folder = tmp_path / "prompts"
    folder.mkdir()
    write_mask(folder / "00003.png", labels())
    write_mask(folder / "frame_x.png", labels())
    with pytest.raises(InputError, match="frame_x.png: mask matches no frame"):
        load_prompts(folder, STEMS, SIZE)
    with pytest.raises(InputError, match="single mask file"):
        load_prompts(folder, STEMS, SIZE, frame=1)
    none = tmp_path / "none"
    none.mkdir()
    with pytest.raises(InputError, match="no PNG masks"):
        load_prompts(none, STEMS, SIZE)


def test_mask_beyond_the_video_in_a_folder(tmp_path: Path):
    write_mask(tmp_path / "00042.png", labels())
    with pytest.raises(InputError, match="00042.png: mask matches no frame"):
        load_prompts(tmp_path, STEMS, SIZE)
