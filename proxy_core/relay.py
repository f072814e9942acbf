"""Sending an answer to the client: an upstream response (whole or streamed), a cached one, or an error.

Every function here fills the :class:`Exchange` with what the client got (status, headers, body as
captured for the log) and leaves submitting it to the caller. The client is a :class:`ClientSink`:
an HTTP response (:mod:`proxy_core.http.sink`) or a WebSocket's messages
(:mod:`proxy_core.ws.universal`), so one request path serves both.

Upstream bodies reach the client as the provider sent them, ``Content-Encoding`` included; the copy
captured for the log is decoded with a cap (:mod:`proxy_core.bounded_body`), so a compressed bomb
costs the gateway its compressed size. Only a rewritten answer (the OpenAI-compatible endpoint) is
decoded for the client, and sent without a ``Content-Encoding``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import aiohttp
from multidict import CIMultiDict

from proxy_core.bounded_body import BoundedBody, Decoder, Unreadable, coding_of, read_body
from proxy_core.errors import ErrorCode, GatewayError, error_body
from proxy_core.exchange import Exchange

__all__ = [
    "HOP_BY_HOP", "ClientSink", "upstream_headers", "relay_upstream", "relay_stream", "relay_body", "relay_error",
    "note_unread", "Rewrite",
]  # fmt: skip

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_STRIP_RESPONSE = HOP_BY_HOP | {"content-length"}
_BUFFER_LIMIT = 1024 * 1024
"""Responses with a known length up to this size are read whole and sent in one write."""
_STREAM_TYPES = ("text/event-stream", "ndjson", "stream+json")


def note_unread(ex: Exchange, reason: str | None) -> None:
    """Record that the gateway could not read the answer's content (no usage, not cached); the
    client still got the bytes, and the log says why."""
    if reason is not None:
        ex.response_body = None
        ex.response_truncated = True
        ex.unread_reason = reason


def upstream_headers(upstream: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    return [(k, v) for k, v in upstream.headers.items() if k.lower() not in _STRIP_RESPONSE]


def is_streamed(upstream: aiohttp.ClientResponse) -> bool:
    content_type = upstream.headers.get("content-type", "")
    length = upstream.content_length
    return length is None or length > _BUFFER_LIMIT or any(t in content_type for t in _STREAM_TYPES)


class ClientSink(Protocol):
    """Where an answer goes. Each sending method raises ``ConnectionError`` when the client left."""

    async def send_whole(self, status: int, headers: CIMultiDict[str], body: bytes) -> None:
        """The whole answer at once (its length known)."""

    async def start_stream(self, status: int, headers: CIMultiDict[str]) -> None:
        """The status and headers of an answer whose body follows in :meth:`write` calls."""

    async def write(self, chunk: bytes) -> None: ...

    async def end(self) -> None:
        """The stream is complete."""

    def abort(self) -> None:
        """The stream broke after its status was sent: tell the client it is incomplete (a clean
        end would pass for success)."""


class Rewrite(Protocol):
    """Rewrites an answer on its way to the client (the OpenAI-compatible endpoint's translation);
    the exchange, and so the log, keeps what the provider sent."""

    def whole(self, status: int, body: bytes) -> bytes: ...

    def stream(self) -> Any: ...


def _client_headers(
    headers: list[tuple[str, str]], reply_headers: dict[str, str], rewrite: Rewrite | None, streamed: bool
) -> CIMultiDict[str]:
    if rewrite is None:
        out = CIMultiDict(headers)
    else:
        out = CIMultiDict((k, v) for k, v in headers if k.lower() not in ("content-type", "content-encoding"))
        out["Content-Type"] = "text/event-stream" if streamed else "application/json"
    out.update(reply_headers)
    return out


async def relay_upstream(
    sink: ClientSink,
    ex: Exchange,
    upstream: aiohttp.ClientResponse,
    reply_headers: dict[str, str],
    capture_limit: int,
    rewrite: Rewrite | None = None,
) -> None:
    """Copy ``upstream`` to the client: small bodies in one write, everything else chunk by chunk."""
    ex.status_code = upstream.status
    ex.response_headers = upstream_headers(upstream)
    if not 200 <= upstream.status < 300:
        ex.error = f"upstream answered {upstream.status}"
    if not is_streamed(upstream):
        try:
            # The length is known and at most _BUFFER_LIMIT; the decoded copy is capped as well.
            got = await read_body(
                upstream.content, upstream.headers.get("content-encoding"), max(capture_limit, _BUFFER_LIMIT),
                raw_cap=_BUFFER_LIMIT,
            )  # fmt: skip
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            err = GatewayError(
                ErrorCode.UPSTREAM_UNREACHABLE,
                f"Provider '{ex.provider}' closed the connection mid-response: {type(exc).__name__}",
            )
            await relay_error(sink, ex, err, reply_headers)
            return
        if rewrite is not None and got.decoded is None:
            await _unreadable(sink, ex, reply_headers, got.reason)
            return
        sent = rewrite.whole(upstream.status, got.decoded or b"") if rewrite is not None else got.raw
        ex.response_body = got.decoded
        ex.response_size = len(got.raw)
        note_unread(ex, got.reason)
        await _send_whole(sink, ex, upstream.status, _client_headers(ex.response_headers, reply_headers, rewrite, False), sent)
        return
    await relay_stream(sink, ex, upstream, reply_headers, capture_limit, rewrite)


async def _send_whole(sink: ClientSink, ex: Exchange, status: int, headers: CIMultiDict[str], body: bytes) -> None:
    """Send a complete answer; a client that hung up is recorded, not raised (its log is kept)."""
    try:
        await sink.send_whole(status, headers, body)
    except ConnectionError as exc:
        ex.error_code = ErrorCode.CLIENT_DISCONNECTED
        ex.error = f"client disconnected before the answer was sent: {type(exc).__name__}"


async def _unreadable(sink: ClientSink, ex: Exchange, reply_headers: dict[str, str], reason: str | None) -> None:
    """A translated answer the gateway cannot read: there is nothing to translate."""
    err = GatewayError(ErrorCode.UPSTREAM_UNREACHABLE, f"Provider '{ex.provider}' sent an answer the gateway cannot read")
    await relay_error(sink, ex, err, reply_headers)
    note_unread(ex, reason)


async def relay_stream(
    sink: ClientSink,
    ex: Exchange,
    upstream: aiohttp.ClientResponse,
    reply_headers: dict[str, str],
    capture_limit: int,
    rewrite: Rewrite | None,
    *,
    head: bytes = b"",
    unread: str | None = None,
) -> None:
    """Copy ``upstream`` chunk by chunk, capturing (decoded, at most ``capture_limit`` bytes) for
    the log. ``head`` is what was already read off the upstream (sent first); ``unread`` gives up
    on the capture from the start."""
    ex.streamed = True
    encoding = upstream.headers.get("content-encoding")
    decoder: Decoder | None = None
    if rewrite is not None:  # the translation reads the content, so it is decoded for the client too
        try:
            coding = coding_of(encoding)
        except Unreadable as exc:
            await _unreadable(sink, ex, reply_headers, exc.reason)
            return
        decoder = Decoder(coding) if coding is not None else None
    state = rewrite.stream() if rewrite is not None else None
    capture = BoundedBody(None if decoder is not None else encoding, capture_limit)
    identity = capture.identity
    if unread is not None:
        capture.fail(unread)
    size = 0
    try:
        await sink.start_stream(upstream.status, _client_headers(ex.response_headers, reply_headers, rewrite, True))
    except ConnectionError as exc:
        ex.error_code = ErrorCode.CLIENT_DISCONNECTED
        ex.error = f"client disconnected before the answer was sent: {type(exc).__name__}"
        return
    reader = upstream.content
    while True:
        if head:
            chunk, head = head, b""
        else:
            try:
                chunk = await reader.readany()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                ex.error_code = ErrorCode.UPSTREAM_UNREACHABLE
                ex.error = f"provider stream broke after {size} bytes: {type(exc).__name__}"
                sink.abort()
                break
        if not chunk:
            break
        size += len(chunk)
        try:
            for piece in decoder.decode(chunk) if decoder is not None else (chunk,):
                out = state.feed(piece) if state is not None else piece
                if out:
                    await sink.write(out)
                if decoder is not None:
                    await capture.feed(piece)
        except ConnectionError as exc:
            ex.error_code = ErrorCode.CLIENT_DISCONNECTED
            ex.error = f"client disconnected after {size} bytes: {type(exc).__name__}"
            break
        except Unreadable as exc:
            ex.error_code = ErrorCode.UPSTREAM_UNREACHABLE
            ex.error = f"provider stream could not be decoded after {size} bytes: {exc.reason}"
            sink.abort()
            break
        if decoder is None:
            await capture.feed(chunk)  # after the client has the chunk: the log's copy costs it nothing
    if ex.error_code is None:
        try:
            if decoder is not None:
                decoder.finish()
            if state is not None:
                await sink.write(state.finish())
            await sink.end()
        except ConnectionError:
            pass
        except Unreadable as exc:
            ex.error_code = ErrorCode.UPSTREAM_UNREACHABLE
            ex.error = f"provider stream could not be decoded after {size} bytes: {exc.reason}"
            sink.abort()
    ex.response_body = capture.finish()
    ex.response_truncated = ex.response_body is None
    if not identity or unread is not None:  # an identity body over the cap is only "truncated", as before
        note_unread(ex, capture.reason)
    ex.response_size = size


async def relay_body(
    sink: ClientSink,
    ex: Exchange,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    streamed: bool,
    reply_headers: dict[str, str],
    *,
    cached: bool = False,
    rewrite: Rewrite | None = None,
) -> None:
    """Answer with a complete body held in memory (from the cache, or buffered for a response
    guardrail); a stream is replayed as a stream, event by event."""
    ex.cached = cached
    ex.status_code = status
    ex.response_headers = list(headers)
    ex.response_body = body
    ex.response_size = len(body)
    ex.streamed = streamed
    if not streamed:
        sent = rewrite.whole(status, body) if rewrite is not None else body
        await _send_whole(sink, ex, status, _client_headers(headers, reply_headers, rewrite, False), sent)
        return
    if rewrite is not None:
        state = rewrite.stream()
        body = state.feed(body) + state.finish()
    try:
        await sink.start_stream(status, _client_headers(headers, reply_headers, rewrite, True))
        start = 0
        while start < len(body):
            end = body.find(b"\n\n", start)
            end = len(body) if end < 0 else end + 2
            await sink.write(body[start:end])
            start = end
        await sink.end()
    except ConnectionError:
        ex.error_code = ErrorCode.CLIENT_DISCONNECTED
        ex.error = "client disconnected during a cached stream"


async def relay_error(sink: ClientSink, ex: Exchange, err: GatewayError, reply_headers: dict[str, str]) -> None:
    """A gateway-made JSON error, recorded on the exchange."""
    body = error_body(err.code, err.message)
    headers = CIMultiDict({**err.headers, **reply_headers})
    headers["Content-Type"] = "application/json"
    ex.status_code = err.status
    ex.error_code = err.code
    ex.error = err.message
    ex.response_headers = [("content-type", "application/json")]
    ex.response_body = body
    ex.response_size = len(body)
    await _send_whole(sink, ex, err.status, headers, body)
