"""An attached console's :class:`~console.link.GatewayLink` to a gateway running in another process.

The console reads and changes state through its own service layer on the shared store, as an
in-process console does. Two things only the running gateway has come over its management API's
WebSocket event stream (``…/ai-gateway/events``, admin token): the live tail, pushed into a
local :class:`~proxy_core.live_feed.LiveFeed` so the views read it as they read an in-process
gateway's, and the nudge that makes the gateway re-read changed gateway settings and tokens at once
(:class:`AttachedLink` is the service layer's :class:`~proxy_core.directory.DirectoryUpdates` when
attached). The gateway's own state (its log pipeline, its guardrails evaluator) is read from its
``/healthz``.

The link reconnects with backoff when the stream drops (the gateway restarting, say) and reports
each change of state through ``on_state`` so the console can tell the operator. Whether the
gateway can be reached is kept apart, in :attr:`AttachedLink.unreachable_since_ms` (reported
through ``on_reachability``): the console shows a banner from the moment the stream drops until it
is back, so a dead gateway never passes for quiet traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any, Callable, Mapping

import aiohttp
import orjson

from proxy_core.directory import GatewayConfig
from proxy_core.events import EventBus
from proxy_core.live_feed import LiveFeed
from proxy_core.logpipe import PipeStats
from proxy_core.runtime_file import RuntimeInfo
from proxy_core.services.types import system_clock

__all__ = ["AttachError", "AttachedLink", "events_url", "pipe_stats"]

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT = 5.0
_REFRESH_TIMEOUT = 5.0
_BACKOFF = (0.5, 1.0, 2.0, 4.0)
_DROP_NOTICE_S = 10.0
_HEALTH_TIMEOUT = 5.0
_HEALTH_FRESH_S = 1.0
"""A ``/healthz`` answer younger than this is reused: the console's pollers cost one request a poll."""


class AttachError(Exception):
    """The running gateway could not be reached or refused the console (the message says why)."""


def events_url(info: RuntimeInfo) -> str:
    return f"{info.api_url.replace('http', 'ws', 1)}/accounts/{info.account_id}/ai-gateway/events"


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a shared call's failure as seen (its callers may all have stopped waiting)."""
    if not task.cancelled():
        task.exception()


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def pipe_stats(logs: Mapping[str, Any]) -> PipeStats:
    """The :class:`PipeStats` of a ``/healthz`` ``"logs"`` object. Every key is optional (a gateway
    of an older version reports fewer of them): a missing or malformed count reads as 0, a missing
    error or failing time as none."""

    def count(key: str) -> int:
        return _number(logs.get(key)) or 0

    error = logs.get("last_error")
    overload = logs.get("overload")
    return PipeStats(
        queued=count("queued"), queued_bytes=count("queued_bytes"), written=count("written"), dropped=count("dropped"),
        write_failures=count("write_failures"), last_error=str(error) if error else None,
        failing_since_ms=_number(logs.get("failing_since_ms")),
        overload=overload if isinstance(overload, str) and overload else "backpressure",
        waiting=count("waiting"), refused=count("refused"), spooled=count("spooled"),
        queue_max_entries=count("queue_max_entries"),
    )  # fmt: skip


class AttachedLink:
    def __init__(
        self,
        info: RuntimeInfo,
        admin_token: str,
        *,
        on_state: Callable[[str, bool], None] | None = None,
        on_reachability: Callable[[int | None], None] | None = None,
        clock: Callable[[], int] = system_clock,
    ) -> None:
        self.info = info
        self._clock = clock
        self.feed = LiveFeed(clock)
        """The gateway's live tail as its event stream delivers it (and this console's own edits)."""
        self.bus = EventBus()
        """The console's service layer publishes its edits of logs here; they reach :attr:`feed`."""
        self.bus.attach(self.feed)
        self.on_state = on_state
        self.on_reachability = on_reachability
        """Called with the time (Unix ms) the stream was lost, and with ``None`` once it is back."""
        self.unreachable_since_ms: int | None = None
        """When the event stream to the gateway was lost (``None``: connected)."""
        self.dropped = 0
        """Events the gateway dropped for this console (this connection) because it fell behind."""
        self._dropped_told = 0
        self._told_at = -math.inf
        self._token = admin_token
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._refreshed: asyncio.Event = asyncio.Event()
        self._pending_refresh: asyncio.Task[None] | None = None
        self._health: tuple[float, PipeStats] | None = None
        self._health_call: asyncio.Task[PipeStats] | None = None

    async def connect(self) -> None:
        """Open the stream and start receiving; raises :class:`AttachError` if the gateway says no."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=_CONNECT_TIMEOUT))
        try:
            self._ws = await self._open()
        except AttachError:
            await self._session.close()
            raise
        self._task = asyncio.get_running_loop().create_task(self._run(), name="aigw-attach-link")

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def close(self) -> None:
        if self._health_call is not None:
            self._health_call.cancel()
        for task in (self._task, self._pending_refresh):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def evaluator_status(self) -> tuple[str, str]:
        """The gateway's guardrails evaluator and its health (for the Guardrails view)."""
        assert self._session is not None
        try:
            async with self._session.get(f"{self.info.base_url}/healthz", params={"evaluator": "1"}) as resp:
                guardrails = (await resp.json())["guardrails"]
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, KeyError, ValueError) as exc:
            return "unknown", f"the gateway did not say: {exc or type(exc).__name__}"
        detail = guardrails.get("detail") or "no answer"
        return str(guardrails["evaluator"]), "healthy" if guardrails.get("healthy") else f"unreachable: {detail}"

    async def log_health(self) -> PipeStats:
        """The gateway's log pipeline, from its ``/healthz`` (for the Live view's status line).

        Costs at most one request per ``_HEALTH_FRESH_S``: a recent answer is reused and callers
        arriving while a request is out share it. Raises (:class:`AttachError`) when the gateway
        does not answer within ``_HEALTH_TIMEOUT``, or answers something else.
        """
        cached = self._health
        if cached is not None and time.monotonic() - cached[0] < _HEALTH_FRESH_S:
            return cached[1]
        call = self._health_call
        if call is None or call.done():
            call = self._health_call = asyncio.get_running_loop().create_task(self._read_log_health())
            call.add_done_callback(_retrieve)
        # shielded: one caller giving up (a cancelled worker) must not cancel the others' request
        return await asyncio.shield(call)

    async def _read_log_health(self) -> PipeStats:
        if self._session is None:
            raise AttachError("not connected to the gateway")
        try:
            async with self._session.get(
                f"{self.info.base_url}/healthz", timeout=aiohttp.ClientTimeout(total=_HEALTH_TIMEOUT)
            ) as resp:
                resp.raise_for_status()
                logs = (await resp.json())["logs"]
            if not isinstance(logs, dict):
                raise TypeError(f"'logs' is {type(logs).__name__}, not an object")
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, KeyError, TypeError, ValueError) as exc:
            raise AttachError(f"the gateway's /healthz did not say: {exc or type(exc).__name__}") from None
        stats = pipe_stats(logs)
        self._health = (time.monotonic(), stats)
        return stats

    # -- DirectoryUpdates: the gateway re-reads its settings from the shared store ------------------

    async def put(self, config: GatewayConfig) -> None:
        await self.refresh()

    async def remove(self, account_id: str, gateway_id: str) -> None:
        await self.refresh()

    def logs_deleted(self) -> None:
        """Logs were deleted from the shared store (the gateway's retention counts are stale): tell it."""
        self._pending_refresh = asyncio.get_running_loop().create_task(self.refresh(), name="aigw-attach-refresh")

    async def refresh(self) -> None:
        """Ask the gateway to re-read gateways and tokens now and wait for it (bounded); if the link
        is down the gateway still picks the change up on its own within a few seconds."""
        ws = self._ws
        if ws is None or ws.closed:
            return
        self._refreshed.clear()
        try:
            await ws.send_str('{"type":"refresh"}')
            await asyncio.wait_for(self._refreshed.wait(), _REFRESH_TIMEOUT)
        except (ConnectionError, asyncio.TimeoutError, RuntimeError) as exc:
            log.warning("the gateway did not confirm a settings refresh: %s", exc)

    # -- the stream ------------------------------------------------------------------------------

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        assert self._session is not None
        url = events_url(self.info)
        try:
            return await self._session.ws_connect(
                url, headers={"authorization": f"Bearer {self._token}"}, heartbeat=30.0, autoping=True
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise AttachError(
                    f"the gateway at {self.info.base_url} refused the admin token: attach with the token it "
                    "was started with (AIGW_ADMIN_TOKEN or [api] admin_token)"
                ) from None
            raise AttachError(f"the gateway at {self.info.base_url} refused the event stream (HTTP {exc.status})") from None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise AttachError(f"cannot reach the gateway at {self.info.base_url}: {exc or type(exc).__name__}") from None

    async def _run(self) -> None:
        attempt = 0
        while True:
            if self._ws is None or self._ws.closed:
                try:
                    self._ws = await self._open()
                except AttachError as exc:
                    await asyncio.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
                    attempt += 1
                    log.info("reconnecting to the gateway: %s", exc)
                    continue
                attempt = 0
                self._reachable(None)
                self._say("Reconnected to the gateway's live tail", True)
            await self._receive(self._ws)
            self._reachable(self._clock())
            self._say("Lost the gateway's live tail; reconnecting…", False)

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self._dispatch(orjson.loads(message.data))
            elif message.type is aiohttp.WSMsgType.ERROR:
                break

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "events":
            for event in frame.get("events") or ():
                self.feed.push(event)
            self._count_dropped(int(frame.get("dropped") or 0))
        elif kind == "refreshed":
            self._refreshed.set()

    def _count_dropped(self, dropped: int) -> None:
        """Tell the operator (at most every ``_DROP_NOTICE_S``) that the tail skipped events."""
        if dropped < self.dropped:  # a new connection counts from zero
            self._dropped_told = 0
        self.dropped = dropped
        now = time.monotonic()
        if dropped > self._dropped_told and now - self._told_at >= _DROP_NOTICE_S:
            skipped, self._dropped_told, self._told_at = dropped - self._dropped_told, dropped, now
            self._say(f"The live tail fell behind: the gateway skipped {skipped} events for this console", False)

    def _reachable(self, since_ms: int | None) -> None:
        """Record (and report) that the stream was lost at ``since_ms``, or is back (``None``)."""
        if since_ms is not None and self.unreachable_since_ms is not None:
            return  # still the same outage: it started when the stream first dropped
        self.unreachable_since_ms = since_ms
        if self.on_reachability is not None:
            self.on_reachability(since_ms)

    def _say(self, message: str, good: bool) -> None:
        log.warning(message)
        if self.on_state is not None:
            self.on_state(message, good)
