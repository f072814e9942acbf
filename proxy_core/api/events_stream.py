"""``GET /client/v4/accounts/{account_id}/ai-gateway/events``: the live tail as a WebSocket.

An attached console (another ``aigw-console`` on the same data directory, or one watching several
proxies that share a PostgreSQL store) receives the gateway's event bus through it: every finished
log and every log edit, in JSON text frames of at most one batch per ``BATCH_INTERVAL``::

    {"type": "events", "events": [{...}, ...], "dropped": 0}

``dropped`` counts events this subscriber lost because it fell behind (the proxy never waits for a
slow consumer). The client may send ``{"type": "refresh"}`` after it changed gateway settings or
tokens in the shared store: the gateway re-reads them at once (instead of within its polling
interval) and answers ``{"type": "refreshed"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Awaitable, Callable

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from proxy_core.api.envelope import ApiCode, fail
from proxy_core.events import EventBus, Subscription

__all__ = ["BATCH_INTERVAL", "install_event_stream", "stream_events"]

log = logging.getLogger(__name__)

EVENT_BUS = web.AppKey("event_bus", EventBus)
REFRESH = web.AppKey("refresh", Callable[[], Awaitable[None]])
_OPEN = web.AppKey("open_event_streams", weakref.WeakSet)


def install_event_stream(app: web.Application, bus: EventBus, refresh: Callable[[], Awaitable[None]]) -> None:
    """What :func:`stream_events` needs on the API app: the bus, the re-read, and closing on shutdown."""
    app[EVENT_BUS] = bus
    app[REFRESH] = refresh
    app[_OPEN] = weakref.WeakSet()
    app.on_shutdown.append(_close_streams)
BATCH_INTERVAL = 0.1
_MAILBOX = 20_000
_MAX_CLIENT_MESSAGE = 4096


async def stream_events(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=_MAX_CLIENT_MESSAGE)
    if not ws.can_prepare(request).ok:
        return fail(400, ApiCode.INVALID, "this endpoint is a WebSocket: connect with 'Upgrade: websocket'")
    await ws.prepare(request)
    request.app[_OPEN].add(ws)
    sending = asyncio.Lock()
    with request.app[EVENT_BUS].subscribe(maxlen=_MAILBOX) as subscription:
        sender = asyncio.create_task(_send_batches(ws, subscription, sending), name="aigw-events-stream")
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await _command(request, ws, message.data, sending)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    return ws


async def _send_batches(ws: web.WebSocketResponse, subscription: Subscription, sending: asyncio.Lock) -> None:
    try:
        while not ws.closed:
            await subscription.wait()
            events = subscription.drain()
            frame = orjson.dumps({"type": "events", "events": events, "dropped": subscription.dropped})
            async with sending:
                await ws.send_str(frame.decode())
            await asyncio.sleep(BATCH_INTERVAL)  # coalesce: one frame per interval under load
    except (ConnectionError, RuntimeError) as exc:  # the client went away mid-send
        log.debug("event stream closed: %s", exc)


async def _command(request: web.Request, ws: web.WebSocketResponse, data: str, sending: asyncio.Lock) -> None:
    try:
        command = orjson.loads(data)
        kind = command.get("type") if isinstance(command, dict) else None
    except orjson.JSONDecodeError:
        kind = None
    if kind == "refresh":
        await request.app[REFRESH]()
        reply = {"type": "refreshed"}
    else:
        reply = {"type": "error", "message": "unknown command: send {\"type\": \"refresh\"}"}
    async with sending:
        await ws.send_str(orjson.dumps(reply).decode())



async def _close_streams(app: web.Application) -> None:
    """``on_shutdown``: close the open streams, so a stopping gateway does not wait for its consoles
    (they hear 'going away' and reconnect when a gateway serves again)."""
    for ws in list(app[_OPEN]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"gateway stopping")
