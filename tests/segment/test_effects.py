"""Background effects from an alpha matte."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseg.errors import InputError
from vidseg.segment.effects import (
    Effect,
    blur_background,
    composite,
    cutout,
    flatten,
    remove_background,
    replace_background,
)


def _frame() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    alpha = np.zeros((40, 60), np.float32)
    alpha[10:30, 20:40] = 1.0
    return img, alpha


def test_blur_keeps_the_object_and_softens_the_background() -> None:
    img, alpha = _frame()
    out = blur_background(img, alpha, 21)
    np.testing.assert_array_equal(out[10:30, 20:40], img[10:30, 20:40])
    assert out[:8].astype(float).std() < 0.5 * img[:8].astype(float).std()


def test_replace_puts_the_object_on_the_new_background() -> None:
    img, alpha = _frame()
    bg = np.zeros((10, 30, 3), np.uint8)
    bg[..., 2] = 200  # blue, wider aspect: cropped to cover
    out = replace_background(img, alpha, bg)
    np.testing.assert_array_equal(out[10:30, 20:40], img[10:30, 20:40])
    assert np.all(out[0, 0] == (0, 0, 200))


def test_soft_alpha_blends() -> None:
    fg = np.full((2, 2, 3), 200, np.uint8)
    bg = np.zeros((2, 2, 3), np.uint8)
    np.testing.assert_array_equal(composite(fg, bg, np.full((2, 2), 0.25, np.float32)), np.full((2, 2, 3), 50))
    np.testing.assert_array_equal(composite(fg, bg, np.full((2, 2), 255, np.uint8)), fg)  # 0..255 mattes


def test_remove_and_cutout_give_rgba() -> None:
    img, alpha = _frame()
    rgba = remove_background(img, alpha)
    assert rgba.shape == (40, 60, 4)
    np.testing.assert_array_equal(rgba[..., 3], (alpha * 255).astype(np.uint8))
    cut = cutout(img, alpha)
    assert cut.shape == (20, 20, 4)
    np.testing.assert_array_equal(cut[..., :3], img[10:30, 20:40])
    assert cutout(img, np.zeros_like(alpha)).shape == (1, 1, 4)
    np.testing.assert_array_equal(flatten(rgba)[0, 0], (0, 0, 0))


def test_parse_effects(tmp_path: Path) -> None:
    assert Effect.parse("blur").strength == 21
    assert Effect.parse("blur:9").strength == 9
    assert Effect.parse("remove").rgba and Effect.parse("cutout").rgba
    img = tmp_path / "bg.png"
    cv2.imwrite(str(img), np.zeros((4, 4, 3), np.uint8))
    fx = Effect.parse(f"replace:{img}")
    assert fx.background is not None and fx.background.shape == (4, 4, 3)
    for bad, msg in (("glow", "unknown effect"), ("blur:x", "integer"), ("replace", "needs an image"),
                     (f"replace:{tmp_path / 'none.png'}", "not found"), ("remove:1", "takes no argument")):
        with pytest.raises(InputError, match=msg):
            Effect.parse(bad)
