"""Rolling numbers for the live view: requests per second, error rate, latency percentiles, spend.

Fed with the log events the bus publishes (by :class:`proxy_core.live_feed.LiveFeed`, on the
gateway's side) or rows read back from the store (by the console), read at a given ``now_ms``;
nothing here looks at the wall clock, so tests pass a fixed time and get fixed numbers. A snapshot
may merge the slots of other instances (the feed's counters and the console's history read from
the store).
Memory and time are bounded: requests are aggregated per second (count, errors, latency, cost
and a histogram of durations), only the last :attr:`LiveStats.window_ms` of them are kept, and
at most ``max_samples`` ids are remembered to count a log once.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

from proxy_core.errors import ErrorCode

__all__ = ["LiveStats", "StatsSnapshot"]

_CLIENT_DISCONNECTED = int(ErrorCode.CLIENT_DISCONNECTED)


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """What the live view shows at a glance."""

    requests: int
    """Requests seen in the window."""
    per_second: float
    """Requests per second over the last ``rate_ms``."""
    error_rate: float
    """Share of failed requests in the window (0..1), not counting those the client gave up on."""
    p50_ms: int | None
    p95_ms: int | None
    spend: float
    """Cost of the requests in the window, in dollars."""
    spend_total: float
    """Cost of everything seen since the view started."""
    rate_series: list[float]
    """Requests per second, one value per ``bucket_ms``, oldest first (sparkline)."""
    latency_series: list[float]
    """Mean duration per bucket in ms, oldest first (sparkline)."""
    aborted: int = 0
    """Requests in the window whose client hung up before the answer was sent (logged as failed
    with ``CLIENT_DISCONNECTED``; a load generator stopping mid-flight makes these). They are not
    errors of the gateway or the provider, so they are counted apart from :attr:`error_rate`."""


class _Slot:
    """The requests of one ``slot_ms`` of time, aggregated."""

    __slots__ = ("count", "errors", "aborted", "duration_sum", "cost", "durations")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.aborted = 0
        self.duration_sum = 0
        self.cost = 0.0
        self.durations: dict[int, int] = {}
        """Duration (ms, see :func:`_duration_bin`) → how many requests took it."""


class LiveStats:
    """Requests aggregated per ``slot_ms`` (1 s): adding one is a few dict updates and a snapshot
    merges at most ``window_ms / slot_ms`` slots, whatever the traffic (it used to sort every
    sample of the window once a second: tens of ms on the shared loop at 1,000 req/s)."""

    def __init__(
        self, *, window_ms: int = 60_000, rate_ms: int = 10_000, bucket_ms: int = 2_000, max_samples: int = 50_000
    ) -> None:
        self.window_ms = window_ms
        self.rate_ms = rate_ms
        self.bucket_ms = bucket_ms
        self.slot_ms = math.gcd(window_ms, rate_ms, bucket_ms, 1000)
        """Time resolution: a request counts in the window, rate and bucket its slot's end falls in."""
        self._slots: dict[int, _Slot] = {}
        self._max_ids = max_samples
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.spend_total = 0.0

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one log (a bus event or a stored row); the same id is counted once."""
        log_id = row.get("id")
        if isinstance(log_id, str):
            if log_id in self._seen:
                return
            self._seen.add(log_id)
            self._seen_order.append(log_id)
            if len(self._seen_order) > self._max_ids:
                self._seen.discard(self._seen_order.popleft())
        cost = float(row.get("cost") or 0.0)
        self.spend_total += cost
        created = int(row.get("created_at") or 0)
        key = (created - 1) // self.slot_ms  # slot k holds (k * slot_ms, (k + 1) * slot_ms]
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
            if len(self._slots) > 3 * (self.window_ms // self.slot_ms) + 8:
                self.slots_from(max(self._slots))
        duration = int(row.get("duration") or 0)
        slot.count += 1
        slot.duration_sum += duration
        slot.cost += cost
        if not row.get("success"):
            if row.get("error_code") == _CLIENT_DISCONNECTED:
                slot.aborted += 1
            else:
                slot.errors += 1
        binned = _duration_bin(duration)
        slot.durations[binned] = slot.durations.get(binned, 0) + 1

    def slots_from(self, first: int) -> list[tuple[int, Any]]:
        """``(slot key, slot)`` pairs, after dropping slots older than a window before ``first``
        (a window's worth of stragglers is kept)."""
        first_kept = first - self.window_ms // self.slot_ms
        for key in [k for k in self._slots if k < first_kept]:
            del self._slots[key]
        return list(self._slots.items())

    def _first_slot(self, since_ms: int) -> int:
        """The first slot whose time is all after ``since_ms``."""
        return -(-since_ms // self.slot_ms)

    def snapshot(self, now_ms: int, *others: "LiveStats") -> StatsSnapshot:
        """The numbers at ``now_ms``, of these requests and of those ``others`` counted (which must
        use the same slot size; each request counted by one of them only)."""
        start = now_ms - self.window_ms
        first, last = self._first_slot(start), (now_ms - 1) // self.slot_ms
        first_recent = self._first_slot(now_ms - self.rate_ms)
        buckets = self.window_ms // self.bucket_ms
        counts = [0] * buckets
        latency = [0] * buckets
        requests = errors = aborted = recent = 0
        spend = 0.0
        durations: dict[int, int] = {}
        slots = [item for stats in (self, *others) for item in stats.slots_from(first)]
        for key, slot in slots:
            if not first <= key <= last:
                continue
            requests += slot.count
            errors += slot.errors
            aborted += slot.aborted
            spend += slot.cost
            if key >= first_recent:
                recent += slot.count
            index = min(buckets - 1, ((key + 1) * self.slot_ms - start - 1) // self.bucket_ms)
            counts[index] += slot.count
            latency[index] += slot.duration_sum
            for duration, n in slot.durations.items():
                durations[duration] = durations.get(duration, 0) + n
        return StatsSnapshot(
            requests=requests,
            per_second=recent / (self.rate_ms / 1000),
            error_rate=errors / requests if requests else 0.0,
            p50_ms=_percentile(durations, requests, 0.50),
            p95_ms=_percentile(durations, requests, 0.95),
            spend=spend,
            spend_total=self.spend_total + sum(other.spend_total for other in others),
            rate_series=[c / (self.bucket_ms / 1000) for c in counts],
            latency_series=[latency[i] / counts[i] if counts[i] else 0.0 for i in range(buckets)],
            aborted=aborted,
        )


def _duration_bin(duration: int) -> int:
    """``duration`` to 10 significant bits: exact below 1,024 ms (shown to the ms), within 0.1 %
    above (shown as ``1.2s``), with a bounded number of distinct values per slot."""
    shift = duration.bit_length() - 10
    return duration if shift <= 0 else (duration >> shift) << shift


def _percentile(counts: Mapping[int, int], total: int, q: float) -> int | None:
    """Nearest-rank percentile of ``total`` values given as value → how many."""
    if not total:
        return None
    rank = min(total, max(1, -(-int(q * total * 1000) // 1000)))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None
