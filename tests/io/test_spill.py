"""LabelSpill: label maps kept losslessly on disk by frame index, all removed on close."""

from __future__ import annotations

import numpy as np

from vidseg.io.spill import LabelSpill


def test_labels_come_back_exactly_and_the_folder_goes(tmp_path):
    rng = np.random.default_rng(0)
    maps = {i: rng.integers(0, 256, (37, 53)).astype(np.uint8) for i in (0, 3, 1000)}
    with LabelSpill(tmp_path) as spill:
        for i, labels in maps.items():
            spill.put(i, labels)
        spill.put(3, maps[3])  # replacing is fine
        folder = spill.path
        assert folder.parent == tmp_path and len(spill) == 3 and 3 in spill and 4 not in spill
        for i, labels in maps.items():
            got = spill.get(i)
            assert got is not None and got.dtype == np.uint8
            np.testing.assert_array_equal(got, labels)
        assert spill.get(4) is None
    assert not folder.exists() and not list(tmp_path.iterdir())
