"""A small least-recently-used map: the in-memory layer in front of the SQLite caches."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held (without making it recent)."""
        return key in self._items

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def items(self) -> list[tuple[K, V]]:
        """A snapshot of the entries, oldest first."""
        return list(self._items.items())
