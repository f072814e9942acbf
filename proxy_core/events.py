"""The in-process event bus: each finished log (and each edit of a stored log) is published to the
consumers attached to it: the headless access log, the events WebSocket of attached consoles, and
the :class:`proxy_core.live_feed.LiveFeed` an in-process console reads once per frame.

Publishing never blocks and never fails: a subscriber that falls behind loses its oldest events
(counted in ``dropped``) rather than slowing the proxy. ``publish`` runs on the gateway's event
loop; a consumer that another thread reads (the live feed) guards its own state.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

__all__ = ["Consumer", "EventBus", "Subscription"]


class Consumer(Protocol):
    """Anything attached to the bus: ``push`` is called once per event, on the publisher's thread,
    and must be O(1) and never raise."""

    def push(self, event: dict[str, Any]) -> None: ...


class Subscription:
    """One asyncio consumer's bounded mailbox; iterate with ``await sub.get()`` or ``sub.drain()``."""

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
        self._bus.detach(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """``worker`` names the process: each event published without a ``worker`` gets it, so a
    console watching several processes (through Redis) can say which one served a request."""

    def __init__(self, worker: str | None = None) -> None:
        self._consumers: set[Consumer] = set()
        self.worker = worker

    def subscribe(self, maxlen: int = 10_000) -> Subscription:
        """A mailbox for a consumer on the publisher's event loop."""
        sub = Subscription(self, maxlen)
        self._consumers.add(sub)
        return sub

    def attach(self, consumer: Consumer) -> None:
        self._consumers.add(consumer)

    def detach(self, consumer: Consumer) -> None:
        self._consumers.discard(consumer)

    def publish(self, event: dict[str, Any]) -> None:
        if self.worker is not None and "worker" not in event:
            event["worker"] = self.worker
        for consumer in tuple(self._consumers):
            consumer.push(event)

    @property
    def has_subscribers(self) -> bool:
        return bool(self._consumers)
