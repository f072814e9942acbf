"""The in-process event bus: each finished log is published to live consumers (the live tail).

Publishing never blocks and never fails: a subscriber that falls behind loses its oldest events
(counted in ``dropped``) rather than slowing the proxy.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

__all__ = ["EventBus", "Subscription"]


class Subscription:
    """One consumer's bounded mailbox; iterate with ``await sub.get()`` or ``sub.drain()``."""

    def __init__(self, bus: "EventBus", maxlen: int) -> None:
        self._bus = bus
        self._items: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.dropped = 0

    def push(self, event: dict[str, Any]) -> None:
        """Deliver one event (the bus calls this; the oldest is dropped when full)."""
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(event)
        self._ready.set()

    async def get(self) -> dict[str, Any]:
        """The next event, waiting for one."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    async def wait(self) -> None:
        """Wait until at least one event is available."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()

    def drain(self) -> list[dict[str, Any]]:
        """All events available now, oldest first, without waiting."""
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self, maxlen: int = 10_000) -> Subscription:
        sub = Subscription(self, maxlen)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def publish(self, event: dict[str, Any]) -> None:
        for sub in self._subscribers:
            sub.push(event)

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)
