from __future__ import annotations

import pytest

from vidseg.errors import InputError
from vidseg.vos.config import PRESETS, TrackerConfig, get_preset
from vidseg.vos.tracker import FlowTracker


def test_presets_exist_and_differ():
    assert set(PRESETS) == {"fast", "default", "accurate"}
    assert all(isinstance(c, TrackerConfig) for c in PRESETS.values())
    assert PRESETS["fast"].work_width < PRESETS["default"].work_width < PRESETS["accurate"].work_width
    assert get_preset("fast") is PRESETS["fast"]


def test_unknown_preset_names_the_choices():
    with pytest.raises(InputError, match="fast, default, accurate"):
        get_preset("turbo")
    with pytest.raises(InputError, match="turbo"):
        FlowTracker("turbo")


def test_tracker_takes_a_config_object():
    cfg = TrackerConfig(name="mine", work_width=200)
    assert FlowTracker(cfg).config.work_width == 200
