"""One process's connection to the Redis every gateway process shares, and whether it is up.

Every Redis call goes through :meth:`RedisLink.call`, bounded by a timeout. While Redis is down the
link answers :class:`RedisUnavailable` at once, without touching the network, so a request pays
for Redis being down only once (the call that found out) and then falls back to what the process
can do alone. A background task probes with a ``PING`` after 0.1 s, 0.2 s, 0.4 s … (at most
``reconnect_max_delay``) and brings the link back up; both changes are logged once. Whoever needs
to resume something (the pub/sub subscriber) waits on :meth:`RedisLink.wait_up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Awaitable, Callable, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from proxy_core.config import RedisSettings

__all__ = ["RedisLink", "RedisUnavailable", "without_password"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_FIRST_RETRY = 0.1
_TIMEOUTS_BEFORE_DOWN = 3
"""Consecutive timed-out calls that count as Redis being down (one slow answer is not)."""
_PROBE_TIMEOUT = 1.0


class RedisUnavailable(Exception):
    """Redis is down, or did not answer in time: do without it for this call."""


class RedisLink:
    """The shared client plus its health (:attr:`up`, since when it is down, the last error)."""

    def __init__(self, settings: RedisSettings) -> None:
        self.settings = settings
        self.prefix = settings.prefix
        self.timeout = settings.timeout
        # No retries inside the client: the caller's timeout is the whole budget, and falling back
        # beats retrying on the request path.
        self.client = aioredis.Redis.from_url(
            settings.url,
            socket_connect_timeout=max(settings.timeout, _PROBE_TIMEOUT),
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self.description = without_password(settings.url)
        """The URL without its password, for logs and ``/healthz``."""
        self.up = False
        self.down_since_ms: int | None = int(time.time() * 1000)
        self.last_error: str | None = "not connected yet"
        self.failures = 0
        """Calls answered without Redis (down, failed or too slow) since start."""
        self._timeouts_in_a_row = 0
        self._came_up = asyncio.Event()
        self._probe: asyncio.Task[None] | None = None
        self._closed = False

    def key(self, *parts: str) -> str:
        """``{prefix}:part:part…``: every key and channel is named through here."""
        return ":".join((self.prefix, *parts))

    async def start(self) -> None:
        """Connect (one bounded try); if Redis is not there, serve without it and keep probing."""
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                await self.client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self._set_down(_describe(exc))
            return
        self._set_up()

    async def wait_up(self) -> None:
        """Return once the link is up (at once when it is)."""
        while not self.up:
            self._came_up.clear()
            await self._came_up.wait()

    async def call(self, operation: Callable[[aioredis.Redis], Awaitable[T]], timeout: float | None = None) -> T:
        """Run ``operation(client)`` within ``timeout`` (default :attr:`timeout`), or raise
        :class:`RedisUnavailable` (immediately while the link is down)."""
        if not self.up:
            self.failures += 1
            raise RedisUnavailable(self.last_error or "redis is down")
        try:
            async with asyncio.timeout(self.timeout if timeout is None else timeout):
                result = await operation(self.client)
        except TimeoutError:
            self.failures += 1
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= _TIMEOUTS_BEFORE_DOWN:
                self._set_down(f"{self._timeouts_in_a_row} calls in a row took over {self.timeout}s")
            raise RedisUnavailable("redis did not answer in time") from None
        except (RedisError, OSError) as exc:
            self.failures += 1
            self.report_failure(exc)
            raise RedisUnavailable(_describe(exc)) from None
        except Exception as exc:  # a client bug on a torn connection must not become a 5xx either
            self.failures += 1
            log.warning("redis call failed unexpectedly, answered without redis", exc_info=True)
            raise RedisUnavailable(_describe(exc)) from None
        self._timeouts_in_a_row = 0
        return result

    def report_failure(self, exc: BaseException) -> None:
        """A connection-level failure seen anywhere (a call, the subscriber): the link is down."""
        self._set_down(_describe(exc))

    async def close(self) -> None:
        self._closed = True
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()

    def _set_down(self, reason: str) -> None:
        self.last_error = reason
        if self.up:
            log.warning(
                "redis %s unreachable (%s): rate limits count per process, the cache uses memory and "
                "the store, settings are polled; reconnecting", self.description, reason,
            )  # fmt: skip
            self.up, self.down_since_ms = False, int(time.time() * 1000)
        elif self._probe is None:
            log.warning("redis %s unreachable at start (%s): serving without it; reconnecting", self.description, reason)
        if (self._probe is None or self._probe.done()) and not self._closed:
            self._probe = asyncio.get_running_loop().create_task(self._reconnect(), name="aigw-redis-reconnect")

    def _set_up(self) -> None:
        was_down_since = self.down_since_ms
        self.up, self.down_since_ms, self.last_error, self._timeouts_in_a_row = True, None, None, 0
        self._came_up.set()
        if self._probe is not None:
            log.warning("redis %s reachable again after %.1fs: shared state resumed", self.description,
                        (time.time() * 1000 - (was_down_since or 0)) / 1000)  # fmt: skip
        else:
            log.info("redis %s connected", self.description)

    async def _reconnect(self) -> None:
        delay = _FIRST_RETRY
        while True:
            await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(_PROBE_TIMEOUT):
                    await self.client.ping()
            except (RedisError, OSError, TimeoutError) as exc:
                self.last_error = _describe(exc)
                delay = min(delay * 2, self.settings.reconnect_max_delay)
                continue
            self._set_up()
            return


def without_password(url: str) -> str:
    """``url`` with any password replaced by ``***`` (Redis URLs carry it in the user part)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
