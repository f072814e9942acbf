"""The non-realtime WebSockets API: ``ws://HOST:PORT/v1/{account_id}/{gateway_id}``.

Each text message ``{"type": "universal.create", "request": {...}}`` (one request object, or an
array of them as a fallback chain) is admitted and forwarded by the same request path as the HTTP
universal endpoint (:mod:`proxy_core.admission`, :mod:`proxy_core.universal`,
:mod:`proxy_core.forward`): logging, caching, retries, rate limits, guardrails and token checks
behave exactly as over HTTP, and the answer is written as messages instead of a response:

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
token stops working at once). ``cf-aig-*`` headers of the handshake (metadata, cache and retry
settings) apply to every request of the connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from proxy_core.admission import Admission
from proxy_core.errors import ErrorCode, GatewayError, error_body, error_response
from proxy_core.http.routes import FORWARDER
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.universal import parse_steps
from proxy_core.ws.handshake import OpenSockets, is_upgrade, read_handshake

__all__ = ["UniversalSockets", "MAX_IN_FLIGHT"]

MAX_IN_FLIGHT = 16
"""Requests one connection may have running at once."""
_MAX_EVENT_ID = 256
_STREAM_TYPES = ("event-stream", "ndjson")
# Handshake headers not applied to each request (the token is checked from the handshake's
# authorization; each request's event id is its own).
_NOT_REPEATED = {"cf-aig-authorization", "cf-aig-event-id"}


class UniversalSockets:
    """The ``GET /v1/{account}/{gateway}`` handler (registered by the app factory)."""

    def __init__(self, admission: Admission, registry: ProviderRegistry, max_message: int) -> None:
        self.admission = admission
        self.registry = registry
        self.max_message = max_message
        self.open = OpenSockets()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not is_upgrade(request):
            return error_response(GatewayError(
                ErrorCode.NOT_FOUND,
                f"No route for {request.method} {request.path}: the universal endpoint takes POST, "
                "or a WebSocket (GET with 'Upgrade: websocket')",
            ))  # fmt: skip
        handshake = read_handshake(request)
        try:
            gateway = self.admission.gateway_for(request.match_info["account"], request.match_info["gateway"])
            self.admission.authenticate(handshake.authorization, gateway)
        except GatewayError as err:
            return error_response(err)
        # Name every protocol the client offered (the token-bearing one first): aiohttp warns with the
        # client's whole list, credentials included, when none of them is accepted.
        offered = (handshake.auth_protocol,) if handshake.auth_protocol else tuple(handshake.other_protocols)
        ws = web.WebSocketResponse(protocols=offered, max_msg_size=self.max_message, heartbeat=30.0)
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
        self.forwarder = request.app[FORWARDER]
        self.ws = ws
        self.account_id, self.gateway_id = account_id, gateway_id
        self.tasks: set[asyncio.Task[None]] = set()
        self.sending = asyncio.Lock()
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower().startswith("cf-aig-") and k.lower() not in _NOT_REPEATED)  # fmt: skip
        if authorization:
            headers["cf-aig-authorization"] = authorization
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
        task = asyncio.get_running_loop().create_task(self.run(_without_event_id(payload), event_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, payload: Any, event_id: str | None) -> None:
        """One request: admitted, its steps made, forwarded, answered as messages."""
        owner = self.owner
        headers = CIMultiDict(self.headers)
        if event_id is not None:
            headers["cf-aig-event-id"] = event_id
        answer = _Answer(self, event_id, owner.max_message)
        try:
            admitted = await owner.admission.admit(
                self.account_id, self.gateway_id, headers, request_type="websocket",
                method="POST", provider="websocket", path="/",
            )  # fmt: skip
            try:
                steps = parse_steps(owner.registry, self.account_id, payload, admitted.policy)
            except GatewayError as err:
                raise owner.admission.refuse(admitted, err, "universal", "/") from None
        except GatewayError as err:
            await answer.error(err)
            return
        await self.forwarder.run(admitted, steps, answer)
        if answer.broken:
            await self.send_error(event_id, ErrorCode.UPSTREAM_UNREACHABLE,
                                  "The stream broke before its end", answer.metadata)  # fmt: skip

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


class _Answer:
    """One request's answer, written as messages (the :class:`~proxy_core.relay.ClientSink` of
    this API). A whole answer, or a stream of a type it does not split into events, is sent as
    one message, so it is held until its end, up to ``max_message`` bytes."""

    def __init__(self, conn: _Connection, event_id: str | None, max_message: int) -> None:
        self.conn = conn
        self.event_id = event_id
        self.max_message = max_message
        self.metadata: dict[str, Any] = {"eventId": event_id}
        self.status = 0
        self.content_type = ""
        self.events: _EventSplitter | None = None
        self.held = bytearray()
        self.over = False
        self.broken = False

    def _begin(self, status: int, headers: CIMultiDict[str]) -> None:
        self.status = status
        self.content_type = headers.get("content-type", "")
        self.metadata = {
            "cacheStatus": headers.get("cf-aig-cache-status"),
            "eventId": self.event_id,
            "logId": headers.get("cf-aig-log-id"),
            "step": headers.get("cf-aig-step"),
            "contentType": headers.get("content-type"),
        }

    async def error(self, err: GatewayError) -> None:
        """A gateway error answered before any provider call (its headers hold the log id)."""
        headers = CIMultiDict(err.headers)
        headers["Content-Type"] = "application/json"
        await self.send_whole(err.status, headers, error_body(err.code, err.message))

    async def send_whole(self, status: int, headers: CIMultiDict[str], body: bytes) -> None:
        self._begin(status, headers)
        await self._whole(body)

    async def start_stream(self, status: int, headers: CIMultiDict[str]) -> None:
        self._begin(status, headers)
        if 200 <= status < 300 and any(kind in self.content_type for kind in _STREAM_TYPES):
            self.events = _EventSplitter(sse="event-stream" in self.content_type)
            await self.conn.send({"type": "universal.created", "metadata": self.metadata})

    async def write(self, chunk: bytes) -> None:
        if self.events is not None:
            await self._stream(self.events.feed(chunk))
        elif not self.over:
            self.held += chunk
            if len(self.held) > self.max_message:
                self.over, self.held = True, bytearray()

    async def end(self) -> None:
        if self.events is not None:
            await self._stream(self.events.finish())
            await self.conn.send({"type": "universal.done", "metadata": self.metadata})
        elif self.over:
            await self.conn.send_error(self.event_id, ErrorCode.UPSTREAM_UNREACHABLE,
                                       f"The answer is over {self.max_message} bytes, more than one message holds; "
                                       "ask for a stream", self.metadata)  # fmt: skip
        else:
            await self._whole(bytes(self.held))

    def abort(self) -> None:
        self.broken = True

    async def _stream(self, events: list[Any]) -> None:
        short = {"eventId": self.event_id}
        for event in events:
            await self.conn.send({"type": "universal.stream", "metadata": short, "response": event})

    async def _whole(self, body: bytes) -> None:
        decoded = _decode(body, self.content_type)
        if 200 <= self.status < 300:
            await self.conn.send({"type": "universal.created", "metadata": self.metadata, "response": decoded})
            return
        code, message = self.status, f"The provider answered {self.status}"
        gateway_error = decoded.get("error") if isinstance(decoded, dict) else None
        if isinstance(gateway_error, list) and gateway_error and isinstance(gateway_error[0], dict):
            code = gateway_error[0].get("code", code)  # made by the gateway: its code and message
            message = str(gateway_error[0].get("message", message))
        await self.conn.send({"type": "error", "metadata": {**self.metadata, "status": self.status},
                              "error": {"code": code, "message": message}, "response": decoded})  # fmt: skip


class _EventSplitter:
    """Splits a body arriving in chunks into events: the ``data`` of each server-sent event
    (``[DONE]`` markers dropped), or each non-empty line of NDJSON; each parsed as JSON where it is."""

    def __init__(self, *, sse: bool) -> None:
        self.sse = sse
        self.buffer = bytearray()
        self.data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Any]:
        self.buffer += chunk
        events: list[Any] = []
        start = 0
        while (end := self.buffer.find(b"\n", start)) >= 0:
            self._line(bytes(self.buffer[start:end]).rstrip(b"\r"), events)
            start = end + 1
        del self.buffer[:start]
        return events

    def finish(self) -> list[Any]:
        events: list[Any] = []
        if self.buffer:
            self._line(bytes(self.buffer), events)
            self.buffer = bytearray()
        if self.sse and self.data:
            self._flush(events)
        return events

    def _line(self, line: bytes, events: list[Any]) -> None:
        if not self.sse:
            if line.strip():
                events.append(_event(line.strip()))
        elif line.startswith(b"data:"):
            self.data.append(line[5:].removeprefix(b" "))
        elif not line and self.data:
            self._flush(events)

    def _flush(self, events: list[Any]) -> None:
        joined, self.data = b"\n".join(self.data), []
        if joined.strip() != b"[DONE]":
            events.append(_event(joined))


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
