"""ObjectManager: the one owner of the id -> probability-channel mapping."""

from __future__ import annotations

import pytest

from vidseg.errors import InputError
from vidseg.vos.objects import ObjectManager


def test_ids_keep_the_order_they_were_first_given() -> None:
    objects = ObjectManager()
    assert objects.add([5, 2]) == [5, 2]
    assert objects.add([2, 9, 5]) == [9]  # known ids are not added again
    assert objects.ids == [5, 2, 9] and len(objects) == 3
    assert objects.channel(5) == 1 and objects.channels([9, 5]) == [3, 1]
    assert objects.with_channels() == [(1, 5), (2, 2), (3, 9)]
    assert 2 in objects and 7 not in objects


def test_remove_returns_the_channels_and_shifts_the_later_ids() -> None:
    objects = ObjectManager([4, 7, 8, 11])
    assert objects.remove([8, 4]) == [1, 3]
    assert objects.ids == [7, 11]
    assert objects.channels([7, 11]) == [1, 2]
    objects.clear()
    assert objects.ids == [] and not objects


def test_unknown_and_invalid_ids_are_errors() -> None:
    objects = ObjectManager([1])
    with pytest.raises(InputError, match="object 3 is not tracked"):
        objects.channel(3)
    with pytest.raises(InputError, match="not tracked"):
        objects.remove([1, 3])
    assert objects.ids == [1]  # nothing removed when one id is unknown
    with pytest.raises(InputError, match="1..255"):
        objects.add([256])
