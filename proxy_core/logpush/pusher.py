"""The pusher: stored logs of gateways with Logpush on → encrypted batches → spool → destination.

:meth:`LogPusher.accept` is called by the log writer once a batch of rows is in the store (so a
gateway at its ``STOP_INSERTING`` limit exports nothing, as the reference says). Records wait per
gateway until ``[logpush] interval`` has passed or ``max_batch`` of them are waiting; the batch is
then encrypted off the event loop, written to the spool and delivered. A delivery that fails is
retried with backoff (1 s doubling to a minute) until it succeeds; the spool keeps the file
meanwhile, across restarts too. :meth:`close` (SIGTERM) cuts and delivers what is pending; what the
destination will not take by then stays spooled for the next start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from proxy_core.config import LogpushSettings
from proxy_core.directory import GatewayConfig
from proxy_core.logpush.keys import load_public_key
from proxy_core.logpush.records import PendingLog, encode_file, file_name, pending_log
from proxy_core.logpush.sinks import Sink, SinkError, open_sink
from proxy_core.logpush.spool import Spool, SpooledFile
from proxy_core.logpush.state import LogpushStatus, allocate_sequence, save_status
from proxy_core.redact import redact_text
from proxy_core.store.engine import Store

__all__ = ["LogPusher", "GatewayLookup"]

log = logging.getLogger(__name__)

GatewayLookup = Callable[[str, str], "GatewayConfig | None"]
_BATCH_BYTES = 64 * 1024 * 1024
"""A batch is also cut once its bodies reach this, so memory stays bounded whatever max_batch is."""
_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 60.0
_CLOSE_TIMEOUT = 30.0


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Gateway:
    """One gateway's batch in the making and its delivery figures."""

    account_id: str
    gateway_id: str
    pending: list[PendingLog] = field(default_factory=list)
    pending_bytes: int = 0
    spooled: dict[str, SpooledFile] = field(default_factory=dict)
    """Its files in the spool, oldest first (cut in order, delivered in order)."""
    spooled_records: int = 0
    status: LogpushStatus = field(init=False)

    def __post_init__(self) -> None:
        self.status = LogpushStatus(self.account_id, self.gateway_id)


class LogPusher:
    def __init__(self, settings: LogpushSettings, spool_dir: Path, store: Store, gateways: GatewayLookup) -> None:
        self._settings = settings
        self._store = store
        self._gateways = gateways
        self._spool = Spool(spool_dir, settings.spool_max_bytes)
        self._by_gateway: dict[tuple[str, str], _Gateway] = {}
        self._keys: dict[str, RSAPublicKey] = {}
        self._cut_now = asyncio.Event()
        self._deliver_now = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._sink: Sink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._cutting = asyncio.Lock()
        self._delivering = asyncio.Lock()
        self.description = ""

    # -- the log writer's side ---------------------------------------------------------------------

    def accept(self, rows: Sequence[Mapping[str, Any]], bodies: Sequence[Mapping[str, Any]]) -> None:
        """Take the logs of a batch the store has just stored; those of gateways with Logpush on wait
        for their file. Never blocks: the writer calls it on its own path."""
        by_id: dict[str, Mapping[str, Any]] | None = None
        for row in rows:
            config = self._gateways(row["account_id"], row["gateway_id"])
            if config is None or not config.logpush or not config.logpush_public_key:
                continue
            if by_id is None:
                by_id = {body["log_id"]: body for body in bodies}
            entry = self._gateway(row["account_id"], row["gateway_id"])
            pending = pending_log(row, by_id.get(row["id"]))
            entry.pending.append(pending)
            entry.pending_bytes += pending.weight
            if len(entry.pending) == 1:
                self._update(entry)
            else:  # the oldest waiting record is unchanged: only the count moves
                entry.status = dataclasses.replace(entry.status, pending_records=entry.status.pending_records + 1)
            if len(entry.pending) >= self._settings.max_batch or entry.pending_bytes >= _BATCH_BYTES:
                self._cut_now.set()

    # -- what /healthz and the store show ----------------------------------------------------------

    def statuses(self) -> list[LogpushStatus]:
        """Every gateway that pushed (or tried) since start, or has files left from before."""
        return [entry.status for entry in self._by_gateway.values()]

    @property
    def spool_bytes(self) -> int:
        return self._spool.bytes

    # -- lifetime ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the destination, pick up files a previous run left, start batching and delivering."""
        self._session = aiohttp.ClientSession()
        self._sink = open_sink(self._settings, self._session)
        self.description = self._sink.description
        for spooled in self._spool.load():
            entry = self._gateway(spooled.account_id, spooled.gateway_id)
            self._spooled(entry, spooled)
            self._update(entry)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._batching(), name="aigw-logpush-batches"),
            loop.create_task(self._delivering_loop(), name="aigw-logpush-delivery"),
        ]
        if self._spool.files():
            log.warning("logpush: %d files left by a previous run will be delivered", len(self._spool.files()))
            self._deliver_now.set()

    async def close(self, timeout: float = _CLOSE_TIMEOUT) -> None:
        """Cut what is pending and deliver it (up to ``timeout`` s); the rest stays spooled."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._sink is None:  # never started
            return
        try:
            async with asyncio.timeout(timeout):
                await self._cut(everything=True)
                await self._deliver_spooled()
        except TimeoutError:
            log.error("logpush: not flushed within %.0fs; %d files stay spooled for the next start",
                      timeout, len(self._spool.files()))  # fmt: skip
        left = sum(len(e.pending) for e in self._by_gateway.values())
        if left:
            log.error("logpush: %d records could not be written to the spool and are lost", left)
        await self._sink.close()
        if self._session is not None:
            await self._session.close()

    # -- batches ----------------------------------------------------------------------------------------

    def _gateway(self, account_id: str, gateway_id: str) -> _Gateway:
        key = (account_id, gateway_id)
        entry = self._by_gateway.get(key)
        if entry is None:
            entry = self._by_gateway[key] = _Gateway(account_id, gateway_id)
        return entry

    def _spooled(self, entry: _Gateway, spooled: SpooledFile) -> None:
        entry.spooled[spooled.key] = spooled
        entry.spooled_records += spooled.records

    def _update(self, entry: _Gateway, **changes: Any) -> None:
        """Recount what the gateway has waiting (in memory and in the spool), with ``changes``."""
        oldest = [next(iter(entry.spooled.values())).oldest_ms] if entry.spooled else []
        if entry.pending:
            oldest.append(entry.pending[0].row["created_at"])
        entry.status = dataclasses.replace(
            entry.status,
            pending_records=len(entry.pending) + entry.spooled_records,
            oldest_pending_at=min(oldest) if oldest else None,
            **changes,
        )

    async def _batching(self) -> None:
        interval = self._settings.interval
        deadline = time.monotonic() + interval
        while True:
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self._cut_now.wait()
            except TimeoutError:
                pass
            self._cut_now.clear()
            everything = time.monotonic() >= deadline
            if everything:
                deadline = time.monotonic() + interval
            try:
                await self._cut(everything=everything)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store refused a sequence: the records wait for the next tick
                log.exception("logpush: could not cut a batch; retrying at the next interval")

    async def _cut(self, *, everything: bool) -> None:
        """Turn waiting records into spooled files: every gateway's, or only full batches."""
        async with self._cutting:
            for entry in list(self._by_gateway.values()):
                while entry.pending and (
                    everything or len(entry.pending) >= self._settings.max_batch or entry.pending_bytes >= _BATCH_BYTES
                ):
                    await self._cut_one(entry)

    def _public_key(self, entry: _Gateway) -> RSAPublicKey | None:
        config = self._gateways(entry.account_id, entry.gateway_id)
        pem = config.logpush_public_key if config is not None and config.logpush else None
        if not pem:
            return None
        key = self._keys.get(pem)
        if key is None:
            key = self._keys[pem] = load_public_key(pem)
        return key

    async def _cut_one(self, entry: _Gateway) -> None:
        batch: list[PendingLog] = []
        size = 0
        for pending in entry.pending:
            if len(batch) >= self._settings.max_batch or (batch and size + pending.weight > _BATCH_BYTES):
                break
            batch.append(pending)
            size += pending.weight
        try:
            public_key = self._public_key(entry)
        except ValueError as exc:  # a key stored before keys were checked: these cannot be sealed
            del entry.pending[: len(batch)]
            entry.pending_bytes -= size
            log.error("logpush: gateway %s: logpush_public_key: %s; %d records dropped", entry.gateway_id, exc, len(batch))
            self._update(entry, dropped_records=entry.status.dropped_records + len(batch),
                         last_error=f"logpush_public_key: {exc}", last_error_at=_now_ms())  # fmt: skip
            await self._save(entry)
            return
        if public_key is None:  # Logpush turned off (or the gateway deleted) since these were stored
            del entry.pending[: len(batch)]
            entry.pending_bytes -= size
            self._update(entry)
            return
        now = _now_ms()
        sequence = await allocate_sequence(self._store, entry.account_id, entry.gateway_id, now)
        data = await asyncio.to_thread(encode_file, batch, public_key)
        key = file_name(entry.account_id, entry.gateway_id, now, sequence)
        oldest = min(p.row["created_at"] for p in batch)
        del entry.pending[: len(batch)]
        entry.pending_bytes -= size
        spooled = self._spool.add(key, entry.account_id, entry.gateway_id, len(batch), oldest, data)
        if spooled is None:
            log.error("logpush: spool full (%d of %d bytes): %d records of gateway %s dropped",
                      self._spool.bytes, self._spool.max_bytes, len(batch), entry.gateway_id)  # fmt: skip
            self._update(entry, dropped_records=entry.status.dropped_records + len(batch))
        else:
            self._spooled(entry, spooled)
            self._update(entry)
            self._deliver_now.set()
        await self._save(entry)

    # -- delivery ---------------------------------------------------------------------------------------

    async def _delivering_loop(self) -> None:
        backoff = _FIRST_BACKOFF
        while True:
            await self._deliver_now.wait()
            self._deliver_now.clear()
            if await self._deliver_spooled():
                backoff = _FIRST_BACKOFF
                continue
            await asyncio.sleep(backoff)  # the destination refused: wait before the next try
            backoff = min(backoff * 2, _MAX_BACKOFF)
            self._deliver_now.set()

    async def _deliver_spooled(self) -> bool:
        """Deliver spooled files oldest first; ``False`` at the first failure (it stays spooled)."""
        async with self._delivering:
            for spooled in sorted(self._spool.files(), key=lambda f: (f.oldest_ms, f.key)):
                if not await self._deliver(spooled):
                    return False
            return True

    async def _deliver(self, spooled: SpooledFile) -> bool:
        assert self._sink is not None
        entry = self._gateway(spooled.account_id, spooled.gateway_id)
        try:
            await self._sink.put(spooled.key, self._spool.read(spooled.key))
        except (SinkError, OSError) as exc:
            reason = redact_text(str(exc))[:500]
            if entry.status.last_error is None:
                log.warning("logpush: delivery of %s failed (%s); retrying with backoff", spooled.key, reason)
            self._update(entry, failures=entry.status.failures + 1, last_error=reason, last_error_at=_now_ms())
            await self._save(entry)
            return False
        if entry.status.last_error is not None:
            log.warning("logpush: %s accepts deliveries again", self.description)
        self._spool.remove(spooled.key)
        del entry.spooled[spooled.key]
        entry.spooled_records -= spooled.records
        status = entry.status
        self._update(
            entry, delivered_files=status.delivered_files + 1, delivered_records=status.delivered_records + spooled.records,
            last_delivery_at=_now_ms(), last_error=None,
        )  # fmt: skip
        await self._save(entry)
        return True

    async def _save(self, entry: _Gateway) -> None:
        try:
            await save_status(self._store, entry.status, _now_ms())
        except Exception as exc:  # figures for consoles only: never stop pushing for them
            log.warning("logpush: could not save the delivery state of %s: %s", entry.gateway_id, exc)
