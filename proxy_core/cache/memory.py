"""The in-memory layer of the cache: least recently used entries out first, bounded by bytes."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, NamedTuple

from proxy_core.cache.backend import CachedResponse

__all__ = ["MemoryLru"]

_ENTRY_OVERHEAD = 256
"""Rough bytes of Python objects around one entry (dict slot, tuple, dataclass, ints)."""
_HEADER_OVERHEAD = 64
"""Rough bytes of Python objects around one header pair."""


class _Slot(NamedTuple):
    response: CachedResponse
    account_id: str
    gateway_id: str
    size: int


def footprint(key: str, response: CachedResponse) -> int:
    """An estimate of the memory one entry holds, in bytes (body, headers, key and overhead)."""
    headers = sum(len(name) + len(value) + _HEADER_OVERHEAD for name, value in response.headers)
    return len(response.body) + headers + len(key) + _ENTRY_OVERHEAD


class MemoryLru:
    """Cached responses keyed like the backend, holding at most ``max_bytes`` (estimated).

    Plain methods, no awaits: every call finishes before another coroutine runs. An entry larger
    than the whole budget is not kept; ``max_bytes`` of 0 keeps nothing.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self.bytes_used = 0
        self._slots: OrderedDict[str, _Slot] = OrderedDict()

    def __len__(self) -> int:
        """The number of entries held."""
        return len(self._slots)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held (without touching its recency)."""
        return key in self._slots

    def get(self, key: str) -> CachedResponse | None:
        """The entry under ``key``, fresh or not, marking it most recently used."""
        slot = self._slots.get(key)
        if slot is None:
            return None
        self._slots.move_to_end(key)
        return slot.response

    def put(self, key: str, account_id: str, gateway_id: str, response: CachedResponse) -> bool:
        """Hold ``response`` under ``key``, evicting the least recently used to make room.

        Returns ``False`` (and holds nothing under ``key``) when it alone exceeds the budget.
        """
        self.discard(key)
        size = footprint(key, response)
        if size > self.max_bytes:
            return False
        self._slots[key] = _Slot(response, account_id, gateway_id, size)
        self.bytes_used += size
        while self.bytes_used > self.max_bytes:
            self._evict_oldest()
        return True

    def discard(self, key: str) -> None:
        """Forget ``key`` if held."""
        slot = self._slots.pop(key, None)
        if slot is not None:
            self.bytes_used -= slot.size

    def purge_expired(self, now_ms: int) -> int:
        """Forget every entry expired at ``now_ms``; the number forgotten."""
        return self._discard_where(lambda slot: not slot.response.is_fresh(now_ms))

    def clear(self, account_id: str, gateway_id: str) -> int:
        """Forget every entry of one gateway; the number forgotten."""
        return self._discard_where(lambda slot: slot.account_id == account_id and slot.gateway_id == gateway_id)

    def _discard_where(self, predicate: Callable[[_Slot], bool]) -> int:
        doomed = [key for key, slot in self._slots.items() if predicate(slot)]
        for key in doomed:
            self.discard(key)
        return len(doomed)

    def _evict_oldest(self) -> None:
        _, slot = self._slots.popitem(last=False)
        self.bytes_used -= slot.size
