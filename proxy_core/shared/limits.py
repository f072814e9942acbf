"""Rate limits counted in Redis, exact across every process that shares it.

Each check is one Lua script, so reading the count, deciding and counting are one atomic step on
the server, and the server's own clock (``TIME``) dates the request: processes on hosts whose
clocks disagree still share one window.

- *fixed*: one hash per gateway, ``{w: window number, n: count}``, windows aligned to the epoch as
  in :mod:`proxy_core.ratelimit`; it expires at the end of its window.
- *sliding*: one sorted set per gateway of the accepted requests in the trailing ``interval``,
  scored by server time in milliseconds: exact (no bucket approximation), at the price of one
  member (~60 bytes) per accepted request in the window, so a limit of 100,000 per hour holds
  ~6 MB for that gateway. Requests older than the window are removed on each check; the set
  expires ``interval`` after its latest request.

Keys carry the limit, interval and technique, so changing a gateway's settings starts its count
afresh, as the in-process limiter does. Rejected requests are not counted.

When Redis is down or slow (:class:`~proxy_core.shared.link.RedisUnavailable`) the check falls
back to the process's own :class:`~proxy_core.ratelimit.RateLimiter`: the gateway keeps
serving, each process then allowing up to the limit by itself until Redis is back.
"""

from __future__ import annotations

import itertools
import secrets

from proxy_core.ratelimit import TECHNIQUES, LocalRateLimits
from proxy_core.shared.link import RedisLink, RedisUnavailable

__all__ = ["RedisRateLimits", "FIXED_SCRIPT", "SLIDING_SCRIPT"]

FIXED_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local window = math.floor(now / interval)
local stored = redis.call('HMGET', KEYS[1], 'w', 'n')
local count = 0
local held = tonumber(stored[1])
if held and held >= window then
  window, count = held, tonumber(stored[2]) or 0
end
local ends = (window + 1) * interval
if count >= limit then
  return math.max(ends - now, 1)
end
redis.call('HSET', KEYS[1], 'w', window, 'n', count + 1)
redis.call('PEXPIREAT', KEYS[1], ends)
return -1
"""
"""KEYS: the gateway's hash. ARGV: limit, interval in ms. Returns -1 (admitted) or the ms to wait."""

SLIDING_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - interval)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(math.ceil(tonumber(oldest[2]) + interval - now), 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], interval)
return -1
"""
"""KEYS: the gateway's sorted set. ARGV: limit, interval in ms, a member unique to this request.
The window is ``(now - interval, now]``: a request exactly ``interval`` old has left it."""


class RedisRateLimits:
    """The :class:`~proxy_core.ratelimit.RateLimits` of a process sharing Redis."""

    def __init__(self, link: RedisLink, fallback: LocalRateLimits | None = None) -> None:
        self.link = link
        self.fallback = fallback or LocalRateLimits()
        """Counts while Redis is unreachable (this process's share only)."""
        self._scripts = {
            "fixed": link.client.register_script(FIXED_SCRIPT),
            "sliding": link.client.register_script(SLIDING_SCRIPT),
        }
        self._origin = secrets.token_hex(6)
        self._sequence = itertools.count()

    async def check(self, key: tuple[str, str], limit: int | None, interval: int | None, technique: str) -> float | None:
        if not limit or not interval or limit < 0 or interval < 0:
            return None
        script = self._scripts.get(technique)
        if script is None:
            raise ValueError(f"rate limiting technique must be one of {', '.join(TECHNIQUES)}, not {technique!r}")
        name = self.link.key("ratelimit", key[0], key[1], f"{limit}-{interval}-{technique}")
        args = [limit, interval * 1000]
        if technique == "sliding":
            args.append(f"{self._origin}-{next(self._sequence)}")
        try:
            wait_ms = await self.link.call(lambda client: script(keys=[name], args=args))
        except RedisUnavailable:
            return await self.fallback.check(key, limit, interval, technique)
        return None if int(wait_ms) < 0 else int(wait_ms) / 1000
