"""Per-gateway rate limiting: ``limit`` requests per ``interval`` seconds, fixed or sliding.

State lives in memory, one small object per key, and every check is O(1) amortised with no
awaits, so it is safe and cheap on the request path.

*Fixed* windows are aligned to the epoch (``floor(now / interval)``), as in the reference: with
10 per 10 minutes, the windows are 12:00–12:10, 12:10–12:20, …, and a window's count starts
again at its boundary.

*Sliding* promises that no trailing ``interval`` seconds ``(now - interval, now]`` ever hold more
than ``limit`` accepted requests. It keeps one bucket per ``interval / 600`` seconds (one second
for a ten-minute interval), each with its count and the time of its latest request, so memory
per key is at most ~600 buckets however large ``limit`` is. A bucket stays counted until its
*latest* request leaves the window, so the promise always holds; when requests share a bucket
the limiter may answer "wait" up to one bucket width longer than a per-request log would.

Rejected requests are not counted, so a client that keeps retrying gets in as soon as the
window allows, not later.

Admission asks a :class:`RateLimits`: :class:`LocalRateLimits` (this module, one process) or
:class:`proxy_core.shared.limits.RedisRateLimits` (every process on one Redis, falling back to
this module's counting while Redis is down).
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Callable, Protocol

__all__ = ["LocalRateLimits", "RateLimiter", "RateLimits", "TECHNIQUES"]

TECHNIQUES = ("fixed", "sliding")
"""The accepted values of ``technique`` (Cloudflare's ``rate_limiting_technique``)."""

_BUCKETS_PER_INTERVAL = 600
_MIN_WAIT = 0.001
"""Floor of a returned wait, so a caller can rely on it being positive despite float rounding."""

Settings = tuple[int, int, str]


class _FixedWindow:
    """Counts requests in the current epoch-aligned window."""

    __slots__ = ("settings", "_limit", "_interval", "_window", "_count")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._limit, self._interval, _ = settings
        self._window = -math.inf
        self._count = 0

    def hit(self, now: float) -> float | None:
        window = now // self._interval
        if window > self._window:  # a clock stepping back keeps counting in the newer window
            self._window, self._count = window, 0
        if self._count >= self._limit:
            return max((self._window + 1) * self._interval - now, _MIN_WAIT)
        self._count += 1
        return None


class _Bucket:
    __slots__ = ("slot", "count", "last")

    def __init__(self, slot: float, now: float) -> None:
        self.slot = slot
        self.count = 1
        self.last = now


class _SlidingWindow:
    """Per-slot counts over the trailing interval, oldest first, with their sum kept up to date."""

    __slots__ = ("settings", "_limit", "_interval", "_width", "_buckets", "_total")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._limit, self._interval, _ = settings
        self._width = self._interval / _BUCKETS_PER_INTERVAL
        self._buckets: deque[_Bucket] = deque()
        self._total = 0

    def hit(self, now: float) -> float | None:
        horizon = now - self._interval
        buckets = self._buckets
        while buckets and buckets[0].last <= horizon:
            self._total -= buckets.popleft().count
        if self._total >= self._limit:
            # total never exceeds limit, so letting the oldest bucket expire is always enough.
            return max(buckets[0].last - horizon, _MIN_WAIT)
        self._count(now)
        return None

    def _count(self, now: float) -> None:
        slot = now // self._width
        buckets = self._buckets
        if buckets and slot <= buckets[-1].slot:  # same slot, or a clock that stepped back
            tail = buckets[-1]
            tail.count += 1
            tail.last = max(tail.last, now)
        else:
            buckets.append(_Bucket(slot, now))
        self._total += 1


_WINDOWS: dict[str, type[_FixedWindow] | type[_SlidingWindow]] = {
    "fixed": _FixedWindow,
    "sliding": _SlidingWindow,
}


class RateLimiter:
    """In-memory rate limits keyed by ``(account_id, gateway_id)`` (or any pair of strings).

    ``clock`` returns seconds (``time.time`` by default; tests inject their own). One instance
    serves the whole process; it is not thread-safe and needs no lock under asyncio.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._states: dict[tuple[str, str], _FixedWindow | _SlidingWindow] = {}

    def check(self, key: tuple[str, str], limit: int | None, interval: int | None, technique: str) -> float | None:
        """Admit one request for ``key``, or say how long to wait.

        Returns ``None`` when the request is allowed (and counts it), else the seconds until a
        request would be allowed (> 0, for ``Retry-After``). ``limit`` or ``interval`` ``None``
        or 0 means no limit. ``technique`` is ``"fixed"`` or ``"sliding"`` (else ``ValueError``).
        Changing a key's ``(limit, interval, technique)`` starts its count afresh.
        """
        if not limit or not interval or limit < 0 or interval < 0:
            self._states.pop(key, None)
            return None
        settings = (limit, interval, technique)
        state = self._states.get(key)
        if state is None or state.settings != settings:
            state = self._states[key] = _new_window(settings)
        return state.hit(self._clock())

    def forget(self, key: tuple[str, str]) -> None:
        """Drop the state of ``key`` (a deleted gateway); its next check starts afresh."""
        self._states.pop(key, None)

    def __len__(self) -> int:
        """The number of keys holding state."""
        return len(self._states)


def _new_window(settings: Settings) -> _FixedWindow | _SlidingWindow:
    window = _WINDOWS.get(settings[2])
    if window is None:
        raise ValueError(f"rate limiting technique must be one of {', '.join(TECHNIQUES)}, not {settings[2]!r}")
    return window(settings)


class RateLimits(Protocol):
    """What admission asks before letting a request through."""

    async def check(self, key: tuple[str, str], limit: int | None, interval: int | None, technique: str) -> float | None:
        """Admit (and count) one request for ``key``: ``None``, else the seconds to wait (> 0).
        ``limit`` or ``interval`` ``None``/0 means no limit; an unknown technique is a ``ValueError``."""
        ...


class LocalRateLimits:
    """:class:`RateLimits` counted in this process by a :class:`RateLimiter` (no awaits inside)."""

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter or RateLimiter()

    async def check(self, key: tuple[str, str], limit: int | None, interval: int | None, technique: str) -> float | None:
        return self.limiter.check(key, limit, interval, technique)
