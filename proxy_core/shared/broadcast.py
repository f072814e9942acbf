"""What one gateway process tells the others through Redis pub/sub: "gateways or tokens changed,
re-read them" and the live tail of every request it served.

Two channels, ``{prefix}:directory`` and ``{prefix}:events``. Every process subscribes to both.

- A change made through a process's service layer (or an attached console's nudge) publishes
  ``{"origin", "ack"}`` on the directory channel; every other process re-reads the gateways and
  tokens from the store at once and pushes its origin onto the ``ack`` list, and the publisher
  waits (at most ``[redis] ack_timeout``) until each has, so when a token revocation returns, every
  process already refuses the token. The store poll (:class:`~proxy_core.directory.GatewayDirectory`)
  keeps running as the fallback: pub/sub delivers at most once and not at all while Redis is down.
- The event bus's events (finished logs, log edits), each tagged ``worker`` with this process's
  name by the bus, are batched (one message per :data:`EVENT_BATCH_INTERVAL`) onto the events
  channel; events arriving from other processes are published on this process's bus, so an
  attached or in-process console shows the requests of every process on that Redis. A batch that
  cannot be sent (Redis down) is dropped and counted: the live tail is best effort, the logs are
  in the store.

When the subscription breaks the link is marked down; once it is back the subscriber subscribes
again and re-reads the directory (changes may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections import deque
from typing import Any, Awaitable, Callable

import orjson
from redis.exceptions import RedisError

from proxy_core.directory import GatewayConfig, GatewayDirectory
from proxy_core.events import EventBus
from proxy_core.shared.link import RedisLink, RedisUnavailable

__all__ = ["Broadcaster", "BroadcastingDirectory", "EVENT_BATCH_INTERVAL"]

log = logging.getLogger(__name__)

EVENT_BATCH_INTERVAL = 0.05
_OUTBOX = 20_000
_SEND_TIMEOUT = 1.0


class Broadcaster:
    """One process's side of both channels. ``reread`` re-reads the gateways and tokens (and
    whatever else this process holds of the store) when another process changed them."""

    def __init__(
        self, link: RedisLink, bus: EventBus, reread: Callable[[], Awaitable[None]], *, ack_timeout: float
    ) -> None:
        self.link = link
        self.ack_timeout = ack_timeout
        self.bus = bus
        self.reread = reread
        self.origin = secrets.token_hex(8)
        """Tells this process's own messages from the others' (not the display name: two
        processes may share one by mistake and must still hear each other)."""
        self.directory_channel = link.key("directory")
        self.events_channel = link.key("events")
        self.events_sent = 0
        self.events_received = 0
        self.events_dropped = 0
        """Events that never reached Redis (down, or the outbox overflowed)."""
        self._outbox: deque[dict[str, Any]] = deque(maxlen=_OUTBOX)
        self._pending = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifetime --------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.bus.attach(self)
        self._tasks = [
            loop.create_task(self._subscribe(), name="aigw-redis-subscriber"),
            loop.create_task(self._send_events(), name="aigw-redis-events"),
        ]

    async def close(self) -> None:
        self.bus.detach(self)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # -- directory changes -----------------------------------------------------------------------

    async def announce_change(self) -> None:
        """Tell every other process to re-read gateways and tokens, and wait until they have (or
        ``ack_timeout`` passed, or Redis is down: then their poll picks the change up)."""
        ack = self.link.key("ack", self.origin, secrets.token_hex(4))
        message = orjson.dumps({"origin": self.origin, "ack": ack})
        try:
            receivers = await self.link.call(lambda c: c.publish(self.directory_channel, message), timeout=_SEND_TIMEOUT)
            others = int(receivers) - 1  # this process's own subscriber heard it too
            deadline = time.monotonic() + self.ack_timeout
            for confirmed in range(max(others, 0)):
                left = math.ceil(deadline - time.monotonic())  # whole seconds: Redis 5 takes no others
                if left <= 0 or await self.link.call(lambda c: c.blpop([ack], timeout=left), timeout=left + 1) is None:
                    log.warning("%d of %d gateway processes did not confirm a settings change within %ss",
                                others - confirmed, others, self.ack_timeout)  # fmt: skip
                    break
        except RedisUnavailable as exc:
            log.warning("settings change not broadcast (%s): other processes see it at their next poll", exc)
        finally:
            with contextlib.suppress(RedisUnavailable):
                await self.link.call(lambda c: c.delete(ack))

    async def _changed_elsewhere(self, data: bytes) -> None:
        message = orjson.loads(data)
        if message.get("origin") == self.origin:
            return
        try:
            await self.reread()
        except Exception:  # the poll retries; still confirm, so the publisher is not held up
            log.exception("re-reading gateways after a broadcast change failed")
        ack = message.get("ack")
        if isinstance(ack, str) and ack.startswith(self.link.key("ack", "")):
            with contextlib.suppress(RedisUnavailable):
                await self.link.call(lambda c: c.pipeline().rpush(ack, self.origin).expire(ack, 10).execute(),
                                     timeout=_SEND_TIMEOUT)  # fmt: skip

    # -- live tail ---------------------------------------------------------------------------------

    def push(self, event: dict[str, Any]) -> None:
        """Bus consumer: queue this process's own events for the events channel (O(1))."""
        if event.get("origin") is not None:  # came from another process: never sent back
            return
        if len(self._outbox) == self._outbox.maxlen:
            self.events_dropped += 1
        self._outbox.append(event)
        self._pending.set()

    async def _send_events(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            batch = list(self._outbox)
            self._outbox.clear()
            if batch:
                message = orjson.dumps({"origin": self.origin, "events": batch})
                try:
                    await self.link.call(lambda c: c.publish(self.events_channel, message), timeout=_SEND_TIMEOUT)
                    self.events_sent += len(batch)
                except RedisUnavailable:
                    self.events_dropped += len(batch)
            await asyncio.sleep(EVENT_BATCH_INTERVAL)  # coalesce: one message per interval under load

    def _arrived(self, data: bytes) -> None:
        message = orjson.loads(data)
        origin = message.get("origin")
        if origin == self.origin:
            return
        for event in message.get("events") or ():
            if isinstance(event, dict):
                event["origin"] = origin
                self.events_received += 1
                self.bus.publish(event)

    # -- the subscription ----------------------------------------------------------------------

    async def _subscribe(self) -> None:
        first = True
        while True:
            await self.link.wait_up()
            pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.directory_channel, self.events_channel)
                if not first:  # changes made while we were not listening
                    await self.reread()
                first = False
                async for message in pubsub.listen():
                    await self._dispatch(message)
            except (RedisError, OSError) as exc:
                self.link.report_failure(exc)
            except Exception:  # keep listening: the live tail and the broadcasts must outlive a bug
                log.exception("redis subscriber failed; subscribing again")
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(0)  # wait_up() blocks until the link's probe brings it back

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        try:
            if channel == self.events_channel:
                self._arrived(message["data"])
            elif channel == self.directory_channel:
                await self._changed_elsewhere(message["data"])
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            log.warning("ignored an unreadable message on %s: %s", channel, exc)


class BroadcastingDirectory:
    """The :class:`~proxy_core.directory.DirectoryUpdates` the service layer is given when processes
    share a Redis: this process's directory first, then the others through the broadcaster."""

    def __init__(self, directory: GatewayDirectory, broadcaster: Broadcaster) -> None:
        self.directory = directory
        self.broadcaster = broadcaster

    async def put(self, config: GatewayConfig) -> None:
        await self.directory.put(config)
        await self.broadcaster.announce_change()

    async def remove(self, account_id: str, gateway_id: str) -> None:
        await self.directory.remove(account_id, gateway_id)
        await self.broadcaster.announce_change()

    async def refresh(self) -> None:
        await self.directory.refresh()
        await self.broadcaster.announce_change()
