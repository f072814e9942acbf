"""Rolling numbers for the live view: requests per second, error rate, latency percentiles, spend.

Fed with the log events the bus publishes (or rows read back from the store), read at a given
``now_ms``; nothing here looks at the wall clock, so tests pass a fixed time and get fixed numbers.
Memory is bounded: only the last :attr:`LiveStats.window_ms` of samples are kept, at most
``max_samples`` of them (percentiles are then over the most recent requests).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["LiveStats", "StatsSnapshot"]


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """What the live view shows at a glance."""

    requests: int
    """Requests seen in the window."""
    per_second: float
    """Requests per second over the last ``rate_ms``."""
    error_rate: float
    """Share of failed requests in the window (0..1)."""
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


class LiveStats:
    def __init__(
        self, *, window_ms: int = 60_000, rate_ms: int = 10_000, bucket_ms: int = 2_000, max_samples: int = 50_000
    ) -> None:
        self.window_ms = window_ms
        self.rate_ms = rate_ms
        self.bucket_ms = bucket_ms
        self._samples: deque[tuple[int, int, bool, float]] = deque(maxlen=max_samples)
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
            if len(self._seen_order) > self._samples.maxlen:  # type: ignore[operator]
                self._seen.discard(self._seen_order.popleft())
        cost = float(row.get("cost") or 0.0)
        self.spend_total += cost
        self._samples.append((int(row.get("created_at") or 0), int(row.get("duration") or 0), bool(row.get("success")), cost))

    def snapshot(self, now_ms: int) -> StatsSnapshot:
        start = now_ms - self.window_ms
        samples = [s for s in self._samples if start < s[0] <= now_ms]
        while self._samples and self._samples[0][0] <= start - self.window_ms:
            self._samples.popleft()  # events arrive roughly in order; stragglers go on a later pass
        recent = sum(1 for s in samples if s[0] > now_ms - self.rate_ms)
        durations = sorted(s[1] for s in samples)
        errors = sum(1 for s in samples if not s[2])
        buckets = self.window_ms // self.bucket_ms
        counts = [0] * buckets
        latency = [0] * buckets
        for created, duration, _ok, _cost in samples:
            index = min(buckets - 1, (created - start - 1) // self.bucket_ms)
            counts[index] += 1
            latency[index] += duration
        return StatsSnapshot(
            requests=len(samples),
            per_second=recent / (self.rate_ms / 1000),
            error_rate=errors / len(samples) if samples else 0.0,
            p50_ms=_percentile(durations, 0.50),
            p95_ms=_percentile(durations, 0.95),
            spend=sum(s[3] for s in samples),
            spend_total=self.spend_total,
            rate_series=[c / (self.bucket_ms / 1000) for c in counts],
            latency_series=[latency[i] / counts[i] if counts[i] else 0.0 for i in range(buckets)],
        )


def _percentile(ordered: list[int], q: float) -> int | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    rank = max(1, -(-int(q * len(ordered) * 1000) // 1000))
    return ordered[min(len(ordered), rank) - 1]
