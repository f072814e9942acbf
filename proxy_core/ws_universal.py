"""The non-realtime WebSockets API: ``ws://HOST:PORT/v1/{account_id}/{gateway_id}``.

Each text message ``{"type": "universal.create", "request": {...}}`` (one request object, or an
array of them as a fallback chain) is served by the gateway's own HTTP universal endpoint, called
over loopback through the pooled client session: logging, caching, retries, rate limits,
guardrails and token checks behave exactly as over HTTP. Answers:

* ``universal.created`` with ``metadata`` (``cacheStatus``, ``eventId``, ``logId``, ``step``,
  ``contentType``) and ``response`` (the JSON body) for a whole answer;
* for a streamed answer (``text/event-stream``, NDJSON): ``universal.created`` with the metadata
  only, one ``universal.stream`` per event (``metadata: {eventId}``, ``response``: the event's
  JSON), then ``universal.done`` with the whole metadata again;
* ``error`` (``metadata`` as far as known, plus ``status``; ``error: {code, message}``; and the
  provider's body as ``response`` when there was one) for anything that went wrong: bad JSON, an
  unknown type, a gateway error (401, 429, 400…) or a provider's non-2xx answer. One bad message
  never closes the socket.

Requests on one socket run concurrently (at most :data:`MAX_IN_FLIGHT`; more are refused with an
``error``), each answered with its own ``eventId``. The connection needs the gateway token when
the gateway is authenticated (checked at the handshake, and again by every request, so a revoked
token stops working at once).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import Any

import aiohttp
import orjson
from aiohttp import WSMsgType, web
from yarl import URL

from proxy_core.errors import ErrorCode, GatewayError, error_response
from proxy_core.proxy import LOOPBACK_HEADER, Proxy
from proxy_core.ws_common import OpenSockets, is_upgrade, read_handshake

__all__ = ["UniversalSockets", "MAX_IN_FLIGHT"]

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 16
"""Requests one connection may have running at once."""
_MAX_EVENT_ID = 256
_STREAM_TYPES = ("event-stream", "ndjson")
# Handshake headers not repeated on each loopback call (the rest of ``cf-aig-*`` is: metadata,
# cache and retry settings given at connect time apply to every request of the connection).
_NOT_REPEATED = {"cf-aig-authorization", "cf-aig-event-id"}


class UniversalSockets:
    """The ``GET /v1/{account}/{gateway}`` handler (registered by the app factory)."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.open = OpenSockets()
        limit = proxy.settings.server.upstream_connection_limit
        # Loopback calls hold a pooled connection while theirs to the provider needs another: at
        # most half the pool goes to loopback, so provider calls can never be starved by them.
        self._loopback = asyncio.Semaphore(max(1, limit // 2) if limit else 1_000_000)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        proxy = self.proxy
        if not is_upgrade(request):
            return error_response(GatewayError(
                ErrorCode.NOT_FOUND,
                f"No route for {request.method} {request.path}: the universal endpoint takes POST, "
                "or a WebSocket (GET with 'Upgrade: websocket')",
            ))  # fmt: skip
        handshake = read_handshake(request)
        try:
            gateway = proxy.gateway_for(request.match_info["account"], request.match_info["gateway"])
            proxy.authenticate(handshake.request, gateway)
        except GatewayError as err:
            return error_response(err)
        # Name every protocol the client offered (the token-bearing one first): aiohttp warns with the
        # client's whole list, credentials included, when none of them is accepted.
        offered = (handshake.auth_protocol,) if handshake.auth_protocol else tuple(handshake.other_protocols)
        ws = web.WebSocketResponse(
            protocols=offered,
            max_msg_size=proxy.settings.server.max_body_bytes,
            heartbeat=30.0,
        )
        if not ws.can_prepare(request).ok:
            return error_response(GatewayError(ErrorCode.BAD_REQUEST, "Invalid WebSocket handshake"))
        await ws.prepare(request)
        self.open.add(ws)
        conn = _Connection(self, request, ws, handshake.authorization, gateway.account_id, gateway.id)
        try:
            await conn.serve()
        finally:
            self.open.discard(ws)
            await conn.stop()
        return ws


class _Connection:
    """One client socket: reads messages, runs requests, writes answers (one writer at a time)."""

    def __init__(
        self, owner: UniversalSockets, request: web.Request, ws: web.WebSocketResponse,
        authorization: str | None, account_id: str, gateway_id: str,
    ) -> None:  # fmt: skip
        self.owner = owner
        self.ws = ws
        self.tasks: set[asyncio.Task[None]] = set()
        self.sending = asyncio.Lock()
        self.url = _loopback_url(request, owner.proxy, account_id, gateway_id)
        headers = {k: v for k, v in request.headers.items()
                   if k.lower().startswith("cf-aig-") and k.lower() not in _NOT_REPEATED}  # fmt: skip
        if authorization:
            headers["cf-aig-authorization"] = authorization
        headers[LOOPBACK_HEADER] = owner.proxy.loopback_secret
        headers["Content-Type"] = "application/json"
        self.headers = headers

    async def serve(self) -> None:
        async for message in self.ws:
            if message.type is WSMsgType.TEXT:
                await self.on_text(message.data)
            elif message.type is WSMsgType.BINARY:
                await self.send_error(None, ErrorCode.BAD_REQUEST, "Binary frames are not accepted: send JSON text")
            elif message.type is WSMsgType.ERROR:
                break

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def on_text(self, data: str) -> None:
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            await self.send_error(None, ErrorCode.MALFORMED_JSON, f"Message is not valid JSON: {exc}")
            return
        payload = message.get("request") if isinstance(message, dict) else None
        event_id = _event_id(payload)
        kind = message.get("type") if isinstance(message, dict) else None
        if kind != "universal.create":
            shown = f"'{kind}'" if isinstance(kind, str) else "missing"
            await self.send_error(event_id, ErrorCode.BAD_REQUEST,
                                  f"Unknown message type ({shown}): expected 'universal.create'")  # fmt: skip
            return
        if not (isinstance(payload, dict) or (isinstance(payload, list) and payload)):
            await self.send_error(event_id, ErrorCode.BAD_REQUEST,
                                  "'request' must be a request object or a non-empty array of them")  # fmt: skip
            return
        if event_id is not None and (len(event_id) > _MAX_EVENT_ID or not event_id.isprintable()):
            await self.send_error(None, ErrorCode.BAD_REQUEST, "'eventId' must be printable and at most 256 characters")
            return
        if len(self.tasks) >= MAX_IN_FLIGHT:
            await self.send_error(event_id, ErrorCode.RATE_LIMITED,
                                  f"Too many requests in flight on this connection (at most {MAX_IN_FLIGHT})")  # fmt: skip
            return
        task = asyncio.get_running_loop().create_task(self.run(payload, event_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, payload: Any, event_id: str | None) -> None:
        body = orjson.dumps(_without_event_id(payload))
        headers = dict(self.headers)
        if event_id is not None:
            headers["cf-aig-event-id"] = event_id
        client = self.owner.proxy.client
        try:
            if client is None:
                raise aiohttp.ClientConnectionError("the gateway is stopping")
            async with self.owner._loopback:
                async with client.post(self.url, data=body, headers=headers, allow_redirects=False) as resp:
                    await self.answer(resp, event_id)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            await self.send_error(event_id, ErrorCode.UPSTREAM_UNREACHABLE,
                                  f"The request could not be completed: {type(exc).__name__}")  # fmt: skip

    async def answer(self, resp: aiohttp.ClientResponse, event_id: str | None) -> None:
        metadata = _metadata(resp, event_id)
        content_type = resp.headers.get("content-type", "")
        streamed = any(kind in content_type for kind in _STREAM_TYPES)
        if not 200 <= resp.status < 300:
            await self.send_response_error(resp, metadata)
            return
        if not streamed:
            body = await resp.read()
            await self.send({"type": "universal.created", "metadata": metadata, "response": _decode(body, content_type)})
            return
        await self.send({"type": "universal.created", "metadata": metadata})
        short = {"eventId": event_id}
        events = _iter_sse(resp) if "event-stream" in content_type else _iter_lines(resp)
        try:
            async for event in events:
                await self.send({"type": "universal.stream", "metadata": short, "response": event})
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            await self.send_error(event_id, ErrorCode.UPSTREAM_UNREACHABLE,
                                  f"The stream broke before its end: {type(exc).__name__}", metadata)  # fmt: skip
            return
        await self.send({"type": "universal.done", "metadata": metadata})

    async def send_response_error(self, resp: aiohttp.ClientResponse, metadata: dict[str, Any]) -> None:
        body = await resp.read()
        decoded = _decode(body, resp.headers.get("content-type", ""))
        code, message = resp.status, f"The provider answered {resp.status}"
        gateway_error = decoded.get("error") if isinstance(decoded, dict) else None
        if isinstance(gateway_error, list) and gateway_error and isinstance(gateway_error[0], dict):
            code = gateway_error[0].get("code", code)  # made by the gateway: its code and message
            message = str(gateway_error[0].get("message", message))
        out = {"type": "error", "metadata": {**metadata, "status": resp.status},
               "error": {"code": code, "message": message}, "response": decoded}  # fmt: skip
        await self.send(out)

    async def send_error(
        self, event_id: str | None, code: ErrorCode, message: str, metadata: dict[str, Any] | None = None
    ) -> None:
        err = GatewayError(code, message)
        meta = {**(metadata or {"eventId": event_id}), "status": err.status}
        await self.send({"type": "error", "metadata": meta, "error": {"code": int(code), "message": message}})

    async def send(self, message: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        async with self.sending:
            with contextlib.suppress(ConnectionError):
                await self.ws.send_str(orjson.dumps(message).decode())


def _loopback_url(request: web.Request, proxy: Proxy, account_id: str, gateway_id: str) -> URL:
    """The universal endpoint on the address this connection came in on (so always reachable)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host, port = str(sockname[0]), int(sockname[1])
    else:  # pragma: no cover - a TCP listener always has one
        host, port = proxy.settings.server.host, proxy.settings.server.port
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return URL.build(scheme="http", host=host, port=port, path=f"/v1/{account_id}/{gateway_id}")


def _event_id(payload: Any) -> str | None:
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("eventId"), (str, int)) and not isinstance(item["eventId"], bool):
            return str(item["eventId"])
    return None


def _without_event_id(payload: Any) -> Any:
    if isinstance(payload, list):
        return [_without_event_id(item) for item in payload]
    if isinstance(payload, dict):
        return {k: v for k, v in payload.items() if k != "eventId"}
    return payload


def _metadata(resp: aiohttp.ClientResponse, event_id: str | None) -> dict[str, Any]:
    headers = resp.headers
    return {
        "cacheStatus": headers.get("cf-aig-cache-status"),
        "eventId": event_id,
        "logId": headers.get("cf-aig-log-id"),
        "step": headers.get("cf-aig-step"),
        "contentType": headers.get("content-type"),
    }


def _decode(body: bytes, content_type: str) -> Any:
    """JSON as JSON, text as a string, anything else (audio, images) as base64."""
    if "json" in content_type or not content_type:
        try:
            return orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            pass
    try:
        return body.decode()
    except UnicodeDecodeError:
        return base64.b64encode(body).decode()


def _event(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode(errors="replace")


async def _lines(resp: aiohttp.ClientResponse) -> Any:
    """The body's lines, however long (``resp.content``'s own line reader caps their length)."""
    buffer = bytearray()
    async for chunk in resp.content.iter_any():
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            yield bytes(buffer[start:end]).rstrip(b"\r")
            start = end + 1
        del buffer[:start]
    if buffer:
        yield bytes(buffer)


async def _iter_sse(resp: aiohttp.ClientResponse) -> Any:
    """The ``data`` of each server-sent event (``[DONE]`` markers dropped)."""
    data: list[bytes] = []
    async for line in _lines(resp):
        if line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
        elif not line and data:
            joined, data = b"\n".join(data), []
            if joined.strip() != b"[DONE]":
                yield _event(joined)
    if data and b"\n".join(data).strip() != b"[DONE]":
        yield _event(b"\n".join(data))


async def _iter_lines(resp: aiohttp.ClientResponse) -> Any:
    async for raw in _lines(resp):
        line = raw.strip()
        if line:
            yield _event(line)
