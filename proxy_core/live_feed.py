"""What a console shows live, kept on the gateway's side at O(1) per request: a bounded ring of the
newest finished logs, a short ring of edits to stored logs, and per-second counters.

:class:`LiveFeed` is attached to the :class:`~proxy_core.events.EventBus` (its ``push`` runs on the
publisher's thread, for each event, and only appends and bumps counters); a console reads it with
:meth:`LiveFeed.take` once per frame, from any thread, and gets the newest rows that fit, how many
rows it never saw, and the edits since its last look. No message goes to the console per request,
so the console's cost follows the frames it draws, not the request rate.

An attached console keeps a feed of its own, pushed by its link as the gateway's event stream
arrives: the views read both kinds the same way.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from proxy_core.live_stats import LiveStats, StatsSnapshot

__all__ = ["LiveFeed", "FeedFrame", "FeedCursor", "FEED_ROWS"]

FEED_ROWS = 2_000
"""Newest logs kept: more than a console can show, fewer than a burst at full load makes in a frame."""
_FEED_UPDATES = 500


@dataclass(frozen=True, slots=True)
class FeedFrame:
    """What a console takes in one look at the feed."""

    rows: list[dict[str, Any]]
    """The newest logs since the last look that fit (oldest first), after the filter."""
    updates: list[dict[str, Any]]
    """``log_updated`` events since the last look, oldest first."""
    skipped: int
    """Logs since the last look that are not in ``rows``: more arrived than fit, or than the ring held
    (before the filter: the filter only looks at what is taken)."""
    cursor: "FeedCursor"
    """Where the next look starts."""


@dataclass(frozen=True, slots=True)
class FeedCursor:
    rows: int = 0
    """How many logs the feed had received at the look."""
    updates: int = 0


class LiveFeed:
    """A bus consumer, thread-safe. ``clock`` (Unix ms) dates the feed's start: its counters take
    logs created from then on, and the console's history of stored logs stops there (so no request
    is counted twice)."""

    def __init__(self, clock: Callable[[], int], *, capacity: int = FEED_ROWS) -> None:
        self.started_ms = clock()
        self.stats = LiveStats()
        """Per-second counters of every log pushed that was created from :attr:`started_ms` on."""
        self._rows: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._updates: deque[dict[str, Any]] = deque(maxlen=_FEED_UPDATES)
        self._received = 0
        self._updated = 0
        self._lock = threading.Lock()

    # -- the gateway's side ----------------------------------------------------------------------

    def push(self, event: dict[str, Any]) -> None:
        with self._lock:
            if event.get("event") == "log_updated":
                self._updates.append(event)
                self._updated += 1
                return
            self._rows.append(event)
            self._received += 1
            if int(event.get("created_at") or 0) >= self.started_ms:
                self.stats.add(event)

    # -- the console's side ----------------------------------------------------------------------

    @property
    def cursor(self) -> FeedCursor:
        """Where a look that wants nothing of the past starts."""
        with self._lock:
            return FeedCursor(self._received, self._updated)

    def take(
        self, since: FeedCursor, limit: int, keep: Callable[[dict[str, Any]], bool] | None = None
    ) -> FeedFrame:
        """The newest ``limit`` logs after ``since`` that ``keep`` accepts (all when ``keep`` is
        ``None``), the edits after ``since``, and how many logs were passed over: those that did
        not fit (counted after the filter) and those the ring no longer held (counted before it)."""
        with self._lock:  # only copies references: the gateway waits microseconds at most
            arrived = self._received - since.rows
            held = min(arrived, len(self._rows))
            candidates = list(itertools.islice(reversed(self._rows), held)) if held > 0 else []
            edits = min(self._updated - since.updates, len(self._updates))
            updates = list(itertools.islice(self._updates, len(self._updates) - edits, None)) if edits > 0 else []
            cursor = FeedCursor(self._received, self._updated)
        if keep is None:
            rows = candidates[:limit]
            skipped = arrived - len(rows)
        else:
            rows, skipped = [], arrived - held
            for row in candidates:  # newest first
                if keep(row):
                    if len(rows) < limit:
                        rows.append(row)
                    else:
                        skipped += 1
        rows.reverse()
        return FeedFrame(rows, updates, skipped, cursor)

    def snapshot(self, now_ms: int, *others: LiveStats) -> StatsSnapshot:
        """The feed's counters at ``now_ms``, merged with ``others`` (see :meth:`LiveStats.snapshot`)."""
        with self._lock:
            return self.stats.snapshot(now_ms, *others)
