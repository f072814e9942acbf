"""The log pipeline: a bounded in-memory queue and one batched writer.

The proxy calls :meth:`LogPipe.submit` after the client has its answer; it never waits. The
writer takes batches, builds rows (usage, cost, redaction), publishes them on the event bus and
hands them to the store (one transaction per batch: :mod:`proxy_core.store.logwriter`). A batch
leaves memory only once its write is confirmed: while the store is slow or failing the batch is
retried with backoff and new exchanges keep queueing up to the bounds (entries and bytes); past
them exchanges are dropped, counted, and reported by :meth:`stats`. :meth:`close` flushes what is
queued before returning.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from proxy_core.config import LogSettings
from proxy_core.costs import PricingTable
from proxy_core.events import EventBus
from proxy_core.exchange import Exchange
from proxy_core.logrows import LOG_EVENT_FIELDS, build_rows

__all__ = ["LogPipe", "PipeStats", "RowWriter"]

log = logging.getLogger(__name__)

RowWriter = Callable[[Sequence[dict[str, Any]], Sequence[dict[str, Any]]], Awaitable[None]]
"""Writes one batch: ``(log rows, body rows)``; raises to have the batch retried."""


@dataclass(frozen=True, slots=True)
class PipeStats:
    queued: int
    """Exchanges waiting for the store, including a batch being written or retried."""
    queued_bytes: int
    written: int
    dropped: int
    """Exchanges refused because the queue was full (entries or bytes)."""
    write_failures: int
    """Batch writes the store refused (each retried)."""
    last_error: str | None


class LogPipe:
    def __init__(
        self,
        settings: LogSettings,
        write: RowWriter,
        pricing: PricingTable,
        bus: EventBus | None = None,
        idle_work: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self._settings = settings
        self._idle_work = idle_work
        self._write = write
        self._pricing = pricing
        self._bus = bus
        self._queue: deque[Exchange] = deque()
        self._bytes = 0
        self._inflight = 0
        self._inflight_bytes = 0
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.write_failures = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="aigw-log-writer")

    def submit(self, exchange: Exchange) -> bool:
        """Queue ``exchange`` for the store; ``False`` (and counted) when the queue is full."""
        weight = exchange.weight
        total = len(self._queue) + self._inflight
        if (
            self._closing
            or total >= self._settings.queue_max_entries
            or self._bytes + self._inflight_bytes + weight > self._settings.queue_max_bytes
        ):
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("log queue full: %d exchanges dropped so far", self.dropped)
            return False
        self._queue.append(exchange)
        self._bytes += weight
        self._idle.clear()
        self._wakeup.set()
        return True

    def stats(self) -> PipeStats:
        return PipeStats(
            queued=len(self._queue) + self._inflight,
            queued_bytes=self._bytes + self._inflight_bytes,
            written=self.written,
            dropped=self.dropped,
            write_failures=self.write_failures,
            last_error=self.last_error,
        )

    async def flush(self) -> None:
        """Wait until everything queued so far is written (or the writer gives up at close)."""
        await self._idle.wait()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, write what is queued (up to ``timeout`` s), stop the writer."""
        self._closing = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            lost = len(self._queue) + self._inflight
            log.error("log writer did not flush within %.0fs; %d exchanges not written", timeout, lost)
            self._task.cancel()
            self.dropped += lost

    def _take_batch(self) -> list[Exchange]:
        batch: list[Exchange] = []
        size = self._settings.batch_size
        while self._queue and len(batch) < size:
            ex = self._queue.popleft()
            self._bytes -= ex.weight
            self._inflight_bytes += ex.weight
            batch.append(ex)
        self._inflight = len(batch)
        return batch

    def _build(self, batch: list[Exchange]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        bodies: list[dict[str, Any]] = []
        max_body = self._settings.max_stored_body_bytes
        for ex in batch:
            try:
                row, body = build_rows(ex, self._pricing, max_body)
            except Exception:  # a malformed exchange must not poison the batch
                log.exception("could not build the log row for %s", ex.id)
                continue
            rows.append(row)
            if body is not None:
                bodies.append(body)
        return rows, bodies

    def _publish(self, rows: list[dict[str, Any]]) -> None:
        bus = self._bus
        if bus is None or not bus.has_subscribers:
            return
        for row in rows:
            bus.publish({key: row[key] for key in LOG_EVENT_FIELDS})

    async def _do_idle_work(self) -> bool:
        """Background upkeep (the search index) while nothing waits; True if it did some."""
        if self._idle_work is None:
            return False
        try:
            return await self._idle_work() > 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # upkeep must never stop the writer
            log.warning("log store upkeep failed: %s", exc)
            return False

    async def _run(self) -> None:
        delay = self._settings.retry_delay
        while True:
            if not self._queue:
                self._idle.set()
                if self._closing:
                    return
                # Clear before any await: a submit() or close() during the upkeep must not be lost.
                self._wakeup.clear()
                if await self._do_idle_work() or self._queue or self._closing:
                    continue
                await self._wakeup.wait()
                continue
            if len(self._queue) < self._settings.batch_size and not self._closing and self._settings.linger > 0:
                # Let a batch fill: one transaction per request costs several times more per row.
                await asyncio.sleep(self._settings.linger)
            batch = self._take_batch()
            rows, bodies = self._build(batch)
            self._publish(rows)
            while True:
                try:
                    if rows:
                        await self._write(rows, bodies)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the store refused: keep the batch, retry with backoff
                    self.write_failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    log.warning("log batch of %d not written (%s); retrying in %.1fs", len(rows), self.last_error, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
            delay = self._settings.retry_delay
            self.written += len(rows)
            self._inflight = 0
            self._inflight_bytes = 0
