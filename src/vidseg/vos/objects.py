"""Which object ids a tracker follows and which probability channel holds each (Cutie's
``ObjectManager``): the one place that maps ids to channels."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from vidseg.errors import InputError


class ObjectManager:
    """The tracked object ids in channel order.

    Object ``ids[k]`` is channel ``k + 1`` of an engine's ``(K+1)``-channel probabilities;
    channel 0 is the background. Ids are added in the order they are first given and keep their
    order; removing ids shifts the later ones down.
    """

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._ids: list[int] = []
        self._channel: dict[int, int] = {}
        self.add(ids)

    @property
    def ids(self) -> list[int]:
        """The tracked ids, in channel order (a copy)."""
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, obj_id: object) -> bool:
        return obj_id in self._channel

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._ids))

    def with_channels(self) -> list[tuple[int, int]]:
        """``(channel, id)`` for every tracked id, in channel order."""
        return list(enumerate(self._ids, start=1))

    def add(self, ids: Iterable[int]) -> list[int]:
        """Start tracking ``ids`` (each 1..255); returns the new ones, in the order added."""
        new: list[int] = []
        for raw in ids:
            obj_id = int(raw)
            if not 1 <= obj_id <= 255:
                raise InputError(f"object id {obj_id} is not in 1..255")
            if obj_id in self._channel:
                continue
            self._ids.append(obj_id)
            self._channel[obj_id] = len(self._ids)
            new.append(obj_id)
        return new

    def channel(self, obj_id: int) -> int:
        """The probability channel (1..K) of a tracked id; :class:`InputError` if not tracked."""
        try:
            return self._channel[int(obj_id)]
        except KeyError:
            raise InputError(f"object {obj_id} is not tracked (tracked: {self._ids or 'none'})") from None

    def channels(self, ids: Iterable[int]) -> list[int]:
        """The channels of several tracked ids, in the order given."""
        return [self.channel(i) for i in ids]

    def remove(self, ids: Iterable[int]) -> list[int]:
        """Stop tracking ``ids``; returns the channels they had (ascending), so that an engine can
        drop those channels from its state. Unknown ids are an :class:`InputError`."""
        gone = sorted(set(self.channels(ids)))
        self._ids = [i for i in self._ids if self._channel[i] not in gone]
        self._channel = {i: k for k, i in enumerate(self._ids, start=1)}
        return gone

    def clear(self) -> None:
        """Forget every id."""
        self._ids.clear()
        self._channel.clear()

    def __repr__(self) -> str:
        return f"ObjectManager({self._ids})"
