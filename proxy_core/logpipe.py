"""The log pipeline: a bounded in-memory queue, one batched writer, and a crash spool.

The proxy calls :meth:`LogPipe.submit` after the client has its answer; it never waits. The
writer takes batches, builds rows (usage, cost, redaction), publishes them on the event bus and
hands them to the store (one transaction per batch: :mod:`proxy_core.store.logwriter`). A batch
leaves memory only once its write is confirmed: while the store is slow or failing the batch is
retried with backoff and new exchanges keep queueing up to the bounds (entries and bytes).

What a full queue does is the operator's choice (``[logs] overload``):

- ``backpressure`` (the default): :meth:`wait_for_room`, which the proxy awaits before it takes a
  request on, holds new requests until the writer has made room (at most
  ``backpressure_timeout``; then the request is refused, counted). Requests already in flight when
  the queue filled still queue their logs, so no log is dropped.
- ``drop``: requests go on and their logs are dropped, counted.

Crash durability: rows still not in the store ``flush_interval / 2`` seconds after they were
submitted are copied to the :class:`~proxy_core.logspool.LogSpool` every ``flush_interval / 2``, so
a ``kill -9`` loses at most the last ``flush_interval`` of traffic; :meth:`recover` replays what a
killed process left before the writer starts. :meth:`close` flushes what is queued (and spools
whatever the store still refuses when time runs out).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from proxy_core.config import LogSettings
from proxy_core.costs import PricingTable
from proxy_core.events import EventBus
from proxy_core.exchange import Exchange
from proxy_core.logrows import LOG_EVENT_FIELDS, build_rows
from proxy_core.logspool import LogSpool, SpoolRecord
from proxy_core.redact import redact_text

__all__ = ["LogPipe", "PipeStats", "RowWriter", "KnownIds"]

log = logging.getLogger(__name__)

RowWriter = Callable[..., Awaitable[None]]
"""Writes one batch: ``(log rows, body rows, tallied=rows only counted)``; raises to have the batch
retried. Tallied rows (log collection off) go into the analytics rollups, never into the logs table."""
KnownIds = Callable[[Sequence[str]], Awaitable[set[str]]]
"""Which of these log ids the store already has (used when replaying the crash spool)."""

_OVERSHOOT = 2
"""Under backpressure, requests in flight when the queue filled may take it to this many times its
bounds; only past that (which the held admissions make unreachable in practice) is a log dropped."""


@dataclass(frozen=True, slots=True)
class PipeStats:
    queued: int
    """Exchanges waiting for the store, including a batch being written or retried."""
    queued_bytes: int
    written: int
    """Exchanges the store has taken: log rows, and rows only tallied in the rollups (collection off)."""
    dropped: int
    """Logs not kept: the queue was full (``drop``, or past the overshoot bound), or the pipe was closed."""
    write_failures: int
    """Batch writes the store refused (each retried)."""
    last_error: str | None
    """The store's last refusal; cleared by the next batch it accepts."""
    failing_since_ms: int | None = None
    """Wall-clock ms of the first refusal in the current run of refusals; ``None`` while writes succeed."""
    overload: str = "backpressure"
    """What a full queue does: ``backpressure`` (requests wait for room) or ``drop`` (logs are dropped, counted)."""
    waiting: int = 0
    """Requests held right now because the queue is full (``backpressure``)."""
    refused: int = 0
    """Requests answered 503 because the queue stayed full for ``backpressure_timeout``."""
    spooled: int = 0
    """Log rows in the crash spool on disk that the store has not confirmed yet."""
    queue_max_entries: int = 0


class _Entry:
    """One exchange in the queue, with what the spool and the writer learn about it."""

    __slots__ = ("seq", "at", "weight", "exchange", "built", "spooled")

    def __init__(self, seq: int, at: float, exchange: Exchange) -> None:
        self.seq = seq
        self.at = at
        self.weight = exchange.weight
        self.exchange: Exchange | None = exchange
        self.built: SpoolRecord | None = None
        self.spooled = False


class LogPipe:
    def __init__(
        self,
        settings: LogSettings,
        write: RowWriter,
        pricing: PricingTable,
        bus: EventBus | None = None,
        idle_work: Callable[[], Awaitable[int]] | None = None,
        spool: LogSpool | None = None,
        *,
        worker_id: str | None = None,
        on_built: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """``worker_id`` stamps every row (``--workers``); ``on_built`` hears of each batch's rows,
        stored and tallied, once (the metrics observe finished requests there, off the request path)."""
        self._settings = settings
        self._worker_id = worker_id
        self._on_built = on_built
        self._idle_work = idle_work
        self._write = write
        self._pricing = pricing
        self._bus = bus
        self._spool = spool if settings.flush_interval > 0 else None
        self._backpressure = settings.overload == "backpressure"
        self._max_entries = settings.queue_max_entries
        self._max_bytes = settings.queue_max_bytes
        self._seq = itertools.count(1)
        self._queue: deque[_Entry] = deque()
        self._inflight: list[_Entry] = []
        self._bytes = 0
        """Bytes of every exchange not yet written: the queue and the batch in flight."""
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._spooler: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.write_failures = 0
        self.last_error: str | None = None
        self.failing_since_ms: int | None = None
        self.waiting = 0
        self.refused = 0

    # -- the proxy's side --------------------------------------------------------------------------

    @property
    def has_room(self) -> bool:
        """Whether a new request's log fits within the bounds (checked before each request)."""
        return len(self._queue) + len(self._inflight) < self._max_entries and self._bytes < self._max_bytes

    async def wait_for_room(self) -> bool:
        """Hold a new request while the queue is full (``backpressure``); ``False`` if it stayed full
        for ``backpressure_timeout`` (the caller refuses the request). ``drop`` never holds."""
        if not self._backpressure or self.has_room:
            return True
        self.waiting += 1
        try:
            async with asyncio.timeout(self._settings.backpressure_timeout):
                while not self.has_room:
                    self._room.clear()
                    await self._room.wait()
            return True
        except TimeoutError:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning("log store not keeping up: %d requests refused after waiting for room", self.refused)
            return False
        finally:
            self.waiting -= 1

    def submit(self, exchange: Exchange) -> bool:
        """Queue ``exchange`` for the store; ``False`` (and counted) when it cannot be kept."""
        weight = exchange.weight
        count = len(self._queue) + len(self._inflight)
        bound = _OVERSHOOT if self._backpressure else 1
        if self._closing:
            return self._drop("the log pipe is closed")
        if count >= self._max_entries * bound:
            return self._drop(f"log queue full ({count} entries)")
        if self._bytes + weight > self._max_bytes * bound:
            return self._drop(f"log queue full ({self._bytes + weight} bytes with this exchange of {weight})")
        self._queue.append(_Entry(next(self._seq), time.monotonic(), exchange))
        self._bytes += weight
        self._idle.clear()
        self._wakeup.set()
        return True

    def _drop(self, why: str) -> bool:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:
            log.warning("%s: %d logs dropped so far", why, self.dropped)
        return False

    def stats(self) -> PipeStats:
        return PipeStats(
            queued=len(self._queue) + len(self._inflight),
            queued_bytes=self._bytes,
            written=self.written,
            dropped=self.dropped,
            write_failures=self.write_failures,
            last_error=self.last_error,
            failing_since_ms=self.failing_since_ms,
            overload=self._settings.overload,
            waiting=self.waiting,
            refused=self.refused,
            spooled=self._spool.rows if self._spool is not None else 0,
            queue_max_entries=self._max_entries,
        )

    # -- lifetime ------------------------------------------------------------------------------------

    async def recover(self, known: KnownIds) -> int:
        """Store what a killed process left in the crash spool (before :meth:`start`); rows stored."""
        if self._spool is None:
            return 0
        recovered = 0
        try:
            for records in self._spool.leftovers():
                for start in range(0, len(records), self._settings.batch_size):
                    chunk = records[start : start + self._settings.batch_size]
                    have = await known([row["id"] for row, _, keep in chunk if keep])
                    fresh = [(row, body) for row, body, keep in chunk if keep and row["id"] not in have]
                    for row, _ in fresh:  # spooled by a version without the column
                        row.setdefault("worker_id", None)
                    rows = [row for row, _ in fresh]
                    bodies = [body for _, body in fresh if body is not None]
                    if rows:  # tallied-only rows are not replayed: their rollup may have been counted
                        await self._write(rows, bodies)
                        recovered += len(rows)
        except Exception as exc:  # the store refuses: keep the spool for the next start
            log.error("crash spool not replayed (%s: %s); it is kept for the next start", type(exc).__name__, exc)
            return recovered
        self._spool.discard_leftovers()
        if recovered:
            log.warning("recovered %d log rows from the crash spool of a process that did not stop cleanly", recovered)
        return recovered

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="aigw-log-writer")
            if self._spool is not None:
                self._spooler = loop.create_task(self._spool_waiting(), name="aigw-log-spool")

    async def flush(self) -> None:
        """Wait until everything queued so far is written (or the writer gives up at close)."""
        await self._idle.wait()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, write what is queued (up to ``timeout`` s), stop the writer."""
        self._closing = True
        self._wakeup.set()
        self._room.set()
        if self._spooler is not None:
            self._spooler.cancel()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            pending = list(itertools.chain(self._inflight, self._queue))
            spooled = self._spool_entries(pending)
            lost = len(pending) - spooled
            log.error(
                "log writer did not flush within %.0fs: %d rows left in the crash spool for the next start, %d lost",
                timeout, spooled, lost,
            )  # fmt: skip
            self.dropped += lost
        finally:
            if self._spool is not None:
                self._spool.close()

    # -- the writer ----------------------------------------------------------------------------------

    def _take_batch(self) -> list[_Entry]:
        batch: list[_Entry] = []
        size = self._settings.batch_size
        queue = self._queue
        while queue and len(batch) < size:
            batch.append(queue.popleft())
        self._inflight = batch
        return batch

    def _built(self, entry: _Entry) -> SpoolRecord | None:
        if entry.built is None and entry.exchange is not None:
            ex, entry.exchange = entry.exchange, None
            try:
                row, body = build_rows(ex, self._pricing, self._settings.max_stored_body_bytes, self._worker_id)
                entry.built = (row, body, ex.collect_log)
            except Exception:  # a malformed exchange must not poison the batch
                log.exception("could not build the log row for %s", ex.id)
        return entry.built

    def _build(self, batch: list[_Entry]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """``(rows to store, their bodies, rows only counted)`` of a batch."""
        rows: list[dict[str, Any]] = []
        bodies: list[dict[str, Any]] = []
        tallied: list[dict[str, Any]] = []
        for entry in batch:
            built = self._built(entry)
            if built is None:
                continue
            row, body, keep = built
            if not keep:
                tallied.append(row)
                continue
            rows.append(row)
            if body is not None:
                bodies.append(body)
        return rows, bodies, tallied

    def _publish(self, rows: list[dict[str, Any]]) -> None:
        bus = self._bus
        if bus is None or not bus.has_subscribers:
            return
        for row in rows:
            bus.publish({key: row[key] for key in LOG_EVENT_FIELDS})

    def _observe(self, rows: list[dict[str, Any]], tallied: list[dict[str, Any]]) -> None:
        if self._on_built is None:
            return
        try:
            self._on_built(rows + tallied if tallied else rows)
        except Exception:  # an observer must never stop the writer
            log.exception("log batch observer failed")

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
            rows, bodies, tallied = self._build(batch)
            self._publish(rows)
            self._observe(rows, tallied)
            await self._write_batch(rows, bodies, tallied)
            self.written += len(rows) + len(tallied)
            self._bytes -= sum(entry.weight for entry in batch)
            self._inflight = []
            if self._spool is not None:
                self._spool.confirm(batch[-1].seq)
            if self.has_room:
                self._room.set()

    async def _write_batch(self, rows: list[dict[str, Any]], bodies: list[dict[str, Any]], tallied: list[dict[str, Any]]) -> None:
        """Write until the store accepts, backing off between refusals."""
        delay = self._settings.retry_delay
        while rows or tallied:
            try:
                await self._write(rows, bodies, tallied) if tallied else await self._write(rows, bodies)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store refused: keep the batch, retry with backoff
                self.write_failures += 1
                self.last_error = redact_text(f"{type(exc).__name__}: {exc}")[:500]
                if self.failing_since_ms is None:
                    self.failing_since_ms = int(time.time() * 1000)
                log.warning("log batch of %d not written (%s); retrying in %.1fs", len(rows), self.last_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            if self.failing_since_ms is not None:
                log.warning("log store accepts writes again after %d failures", self.write_failures)
            self.last_error = None
            self.failing_since_ms = None
            return

    # -- the crash spool -----------------------------------------------------------------------------

    async def _spool_waiting(self) -> None:
        """Every half flush interval, copy rows older than half of it to the spool."""
        half = self._settings.flush_interval / 2
        while True:
            await asyncio.sleep(half)
            cutoff = time.monotonic() - half
            waiting = itertools.takewhile(lambda e: e.at <= cutoff, itertools.chain(self._inflight, self._queue))
            self._spool_entries(list(waiting))

    def _spool_entries(self, entries: list[_Entry]) -> int:
        """Append the entries not spooled yet; returns how many of ``entries`` are on disk now."""
        spool = self._spool
        if spool is None:
            return 0
        fresh = [e for e in entries if not e.spooled]
        records = [built for built in map(self._built, fresh) if built is not None]
        if fresh and spool.append(fresh[-1].seq, records):
            for entry in fresh:
                entry.spooled = True
        return sum(1 for e in entries if e.spooled)
