"""The realtime WebSockets API: ``ws://HOST:PORT/v1/{account}/{gateway}/{provider}[/{path}]?{query}``.

A bidirectional passthrough to a provider's own realtime WebSocket (OpenAI Realtime, Google AI
Studio Live, Cartesia, ElevenLabs). The upstream URL is the provider's configured base (``http``
→ ``ws``, ``https`` → ``wss``) plus the client's path and query, checked as for HTTP; with no path
(the reference's ``wss://…/openai?model=…``, ``…/google?api_key=…``, ``…/cartesia?…``,
``…/elevenlabs?agent_id=…``) the path is the provider's ``realtime_path`` in the registry, and
``google`` names Google AI Studio here. The client's
headers are forwarded minus hop-by-hop, ``Host``, the WebSocket handshake's own and ``cf-aig-*``;
its subprotocols go along too, except ``cf-aig-authorization.<token>`` (ElevenLabs'
``xi-api-key.<key>`` becomes the ``xi-api-key`` header). The upstream handshake happens first, so a
refusal reaches the client as an HTTP error (the upstream's status) before any upgrade. Text and
binary frames are then pumped both ways until either side closes; the close code and reason go
to the other side.

One log row per session, written when it ends: ``request_type`` ``realtime``, status ``101`` (or
the refusal's), duration, time to the upstream's handshake, and an error when the session ended
abnormally. With body collection on, the request/response bodies are a transcript of the text
frames each way (one frame per line, capped; binary frames appear as ``[binary N bytes]``). With
log collection off (the gateway's ``collect_logs``, or ``cf-aig-collect-log: false``) no row is
stored, as for HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import ClientWSTimeout, WSCloseCode, WSMsgType, web
from yarl import URL

from proxy_core.admission import Admission, reply_headers
from proxy_core.config import ServerSettings
from proxy_core.errors import ErrorCode, GatewayError, error_body, error_response, upstream_error
from proxy_core.exchange import Exchange
from proxy_core.http.routes import split_provider_path
from proxy_core.ids import new_ulid
from proxy_core.logpipe import LogPipe
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.redact import redact_query, redact_text, scrub_body, sent_secrets
from proxy_core.safepath import check_path
from proxy_core.step import forward_headers
from proxy_core.ws.handshake import AUTH_PROTOCOL, OpenSockets, logged_headers, read_handshake

__all__ = ["RealtimeBridge"]

_STRIP_HANDSHAKE = {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
                    "sec-websocket-protocol", "sec-websocket-accept", "origin"}  # fmt: skip
_HANDSHAKE_TIMEOUT = 30.0
"""Seconds for the provider's handshake unless ``cf-aig-request-timeout`` says otherwise."""
_TRANSCRIPT_CAP = 1024 * 1024
"""Bytes of transcript kept per direction (when bodies are collected)."""
_UNSENDABLE = {WSCloseCode.ABNORMAL_CLOSURE, 1005, 1015}  # codes a close frame may not carry


class RealtimeBridge:
    """WebSocket upgrades on provider paths (the HTTP provider route hands them over).

    Upstream sockets go through a client session of the bridge's own (:meth:`start`,
    :meth:`close`): long-lived sessions never hold connections of the HTTP pool, and the
    provider's handshake answer is read through a public trace hook.
    """

    def __init__(self, admission: Admission, registry: ProviderRegistry, pipe: LogPipe, server: ServerSettings) -> None:
        self.admission = admission
        self.registry = registry
        self.pipe = pipe
        self.open = OpenSockets()
        self.max_frame = server.max_body_bytes
        """Largest frame accepted from either side; a larger one ends the session with 1009."""
        self.connect_timeout = server.upstream_connect_timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(_keep_handshake_answer)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout),
            trace_configs=[trace],
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )

    async def close(self) -> None:
        """Close the upstream session (the sockets themselves are closed at shutdown, first)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        handshake = read_handshake(request)
        segment = request.match_info["provider"]
        try:
            ctx = await self.admission.admit(
                request.match_info["account"], request.match_info["gateway"], handshake.request.headers,
                request_type="realtime", method=request.method, provider=segment,
                path="/" + request.match_info.get("tail", ""),
            )  # fmt: skip
        except GatewayError as err:
            return error_response(err)
        tail, query = split_provider_path(request, ctx.gateway.account_id, ctx.gateway.id, segment)
        spec = self.registry.realtime_spec(segment)
        provider = spec.name if spec is not None else segment  # ``google`` is logged as google-ai-studio
        try:
            if spec is None:
                raise GatewayError(ErrorCode.BAD_REQUEST,
                                   f"Provider '{segment}' has no realtime WebSocket API here; realtime providers: "
                                   + ", ".join(self.registry.realtime_names()))  # fmt: skip
            # Offer aiohttp every protocol the client did, so it never warns "Client protocols
            # [...] don't overlap" with the client's list (which can carry a key).
            offered = [handshake.auth_protocol] if handshake.auth_protocol else []
            if not web.WebSocketResponse(protocols=offered + handshake.other_protocols).can_prepare(request).ok:
                raise GatewayError(ErrorCode.BAD_REQUEST, "Invalid WebSocket handshake")
            check_path(tail)
            resolved = self.registry.resolve_realtime(segment, tail, account_id=ctx.gateway.account_id)
        except GatewayError as err:
            return error_response(self.admission.refuse(ctx, err, provider, tail, query))
        base = resolved.upstream_base
        ws_base = "ws" + base[4:] if base.startswith("http") else base
        url = ws_base + resolved.path + ("?" + query if query else "")
        collect = ctx.gateway.collect_logs if ctx.policy.collect_log is None else ctx.policy.collect_log
        ex = Exchange(
            id=new_ulid(ctx.started_ms), account_id=ctx.gateway.account_id, gateway_id=ctx.gateway.id,
            started_ms=ctx.started_ms, provider=provider, family=resolved.spec.family,
            path=resolved.path + ("?" + redact_query(query) if query else ""), method=request.method,
            request_type="realtime", policy=ctx.policy,
            collect_bodies=collect, collect_log=collect,
            request_headers=logged_headers(request.headers.items()),
        )  # fmt: skip
        headers, protocols = _upstream_handshake(request, resolved.spec.realtime_key_protocol, handshake.other_protocols)
        try:
            timeout = ctx.policy.request_timeout_ms / 1000 if ctx.policy.request_timeout_ms else _HANDSHAKE_TIMEOUT
            upstream, answer_headers = await self._connect(url, headers, protocols, timeout)
        except aiohttp.WSServerHandshakeError as exc:
            status = exc.status if 400 <= exc.status < 600 else 502
            err = GatewayError(ErrorCode.UPSTREAM_UNREACHABLE, redact_text(f"Provider '{provider}' refused the "
                               f"WebSocket upgrade: HTTP {exc.status} ({exc.message})"))  # fmt: skip
            ex.response_headers = list((exc.headers or {}).items())
            return self._refuse(ctx.started, ex, err, status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            err = upstream_error(provider, exc)
            return self._refuse(ctx.started, ex, err, err.status)
        ex.ttfb_ms = int((time.perf_counter() - ctx.started) * 1000)
        ex.status_code = 101
        ex.response_headers = answer_headers
        echo = _echo_protocol(upstream.protocol, handshake.auth_protocol, handshake.other_protocols)
        client = web.WebSocketResponse(protocols=(echo,) if echo else (), max_msg_size=self.max_frame)
        try:
            await client.prepare(request)
        except (ConnectionError, web.HTTPException) as exc:
            await upstream.close(code=WSCloseCode.GOING_AWAY)
            ex.error_code = ErrorCode.CLIENT_DISCONNECTED
            ex.error = redact_text(f"client left during the handshake: {exc}")
            self.pipe.submit(ex.ended(ctx.started))
            return client
        self.open.add(client)
        try:
            await _Session(client, upstream, ex, _session_secrets(query, offered + handshake.other_protocols)).run()
        finally:
            self.open.discard(client)
            if not upstream.closed:
                await upstream.close(code=WSCloseCode.GOING_AWAY)
            self.pipe.submit(ex.ended(ctx.started))
        return client

    async def _connect(
        self, url: str, headers: dict[str, str], protocols: list[str], timeout: float
    ) -> tuple[aiohttp.ClientWebSocketResponse, list[tuple[str, str]]]:
        """The provider's socket, and the headers of its handshake answer."""
        session = self._session
        if session is None:
            raise aiohttp.ClientConnectionError("the gateway is stopping")
        answer: list[tuple[str, str]] = []
        token = _HANDSHAKE_ANSWER.set(answer)
        try:
            async with asyncio.timeout(timeout):
                upstream = await session.ws_connect(
                    URL(url, encoded=True), headers=headers, protocols=protocols, max_msg_size=self.max_frame,
                    timeout=ClientWSTimeout(ws_receive=None, ws_close=10.0), autoping=True,
                )  # fmt: skip
        finally:
            _HANDSHAKE_ANSWER.reset(token)
        return upstream, answer

    def _refuse(self, started: float, ex: Exchange, err: GatewayError, status: int) -> web.Response:
        body = error_body(err.code, err.message)
        ex.status_code, ex.error_code, ex.error = status, err.code, err.message
        self.pipe.submit(ex.ended(started))
        headers = reply_headers(ex.id, ex.policy.event_id)
        return web.Response(status=status, body=body, content_type="application/json", headers=headers)


_HANDSHAKE_ANSWER: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar(
    "aigw_realtime_handshake_answer", default=None
)
"""Where :func:`_keep_handshake_answer` puts the headers of the provider's ``101`` (aiohttp's
socket object has no public accessor for them); set around each connect."""


async def _keep_handshake_answer(
    session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestEndParams
) -> None:
    answer = _HANDSHAKE_ANSWER.get()
    if answer is not None:
        answer.extend(params.response.headers.items())


class _Session:
    """Pumps frames both ways; the first side to close (or fail) ends the session for both."""

    def __init__(
        self, client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse, ex: Exchange,
        secrets: tuple[bytes, ...] = (),
    ) -> None:
        self.client, self.upstream, self.ex, self.secrets = client, upstream, ex, secrets
        self.sent = _Transcript(ex.collect_bodies)
        self.received = _Transcript(ex.collect_bodies)

    async def run(self) -> None:
        ex = self.ex
        up = asyncio.ensure_future(self._pump(self.client, self.upstream, self.sent))
        down = asyncio.ensure_future(self._pump(self.upstream, self.client, self.received))
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            first, other = (up, down) if up in done else (down, up)
            code, reason = first.result()
            by_client = first is up
            # Pass the close on: an abnormal end (no close frame) becomes 1011 upstream→client and
            # 1001 ("going away") client→upstream.
            sendable = code if code is not None and code not in _UNSENDABLE else (
                WSCloseCode.GOING_AWAY if by_client else WSCloseCode.INTERNAL_ERROR)  # fmt: skip
            target = self.upstream if by_client else self.client
            with contextlib.suppress(Exception):
                await target.close(code=sendable, message=reason.encode()[:120].decode(errors="ignore").encode())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(other, 5.0)
            side = "client" if by_client else "provider"
            if code not in (WSCloseCode.OK, WSCloseCode.GOING_AWAY):
                ex.error = redact_text(f"{side} closed the session with {code}" + (f": {reason}" if reason else ""))
                if not by_client and (code is None or code in _UNSENDABLE or code == WSCloseCode.INTERNAL_ERROR):
                    ex.error_code = ErrorCode.UPSTREAM_UNREACHABLE  # a failure, not just an end
        finally:
            for task in (up, down):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(up, down, return_exceptions=True)
            ex.request_body = scrub_body(self.sent.body(), self.secrets)
            ex.response_body = scrub_body(self.received.body(), self.secrets) if ex.collect_bodies else None
            ex.response_size = self.received.size

    @staticmethod
    async def _pump(src: Any, dst: Any, transcript: _Transcript) -> tuple[int | None, str]:
        """Copy frames until ``src`` closes; returns its close code and reason."""
        while True:
            msg = await src.receive()
            try:
                if msg.type is WSMsgType.TEXT:
                    transcript.text(msg.data)
                    await dst.send_str(msg.data)
                    continue
                if msg.type is WSMsgType.BINARY:
                    transcript.binary(len(msg.data))
                    await dst.send_bytes(msg.data)
                    continue
            except ConnectionError:  # the other side is gone: its own pump ends the session
                continue
            if msg.type is WSMsgType.CLOSE:
                return msg.data, msg.extra or ""
            if msg.type is WSMsgType.ERROR:
                return WSCloseCode.ABNORMAL_CLOSURE, redact_text(f"{type(msg.data).__name__}: {msg.data}")
            if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED):
                return src.close_code or WSCloseCode.ABNORMAL_CLOSURE, ""


class _Transcript:
    """The text frames of one direction, one per line, up to :data:`_TRANSCRIPT_CAP` bytes."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.parts: list[bytes] = []
        self.kept = 0
        self.size = 0
        self.cut = False

    def _add(self, data: bytes) -> None:
        if not self.keep or self.cut:
            return
        if self.kept + len(data) + 1 > _TRANSCRIPT_CAP:
            self.parts.append(b"[transcript cut at %d bytes]" % _TRANSCRIPT_CAP)
            self.cut = True
            return
        self.parts.append(data)
        self.kept += len(data) + 1

    def text(self, data: str) -> None:
        encoded = data.encode()
        self.size += len(encoded)
        self._add(encoded.replace(b"\n", b" "))

    def binary(self, size: int) -> None:
        self.size += size
        self._add(b"[binary %d bytes]" % size)

    def body(self) -> bytes:
        return b"\n".join(self.parts) if self.keep else b""


def _upstream_handshake(
    request: web.Request, key_protocol: str, protocols: list[str]
) -> tuple[dict[str, str], list[str]]:
    headers = {k: v for k, v in forward_headers(request.headers).items() if k.lower() not in _STRIP_HANDSHAKE}
    forwarded = []
    for proto in protocols:
        name, _, value = proto.partition(".")
        if key_protocol and name.lower() == key_protocol and value:
            headers.setdefault(key_protocol, value)
        elif not proto.lower().startswith(AUTH_PROTOCOL):
            forwarded.append(proto)
    return headers, forwarded


def _session_secrets(query: str, protocols: list[str]) -> tuple[bytes, ...]:
    """The credentials a realtime client sent outside its headers, which the log pipeline's own
    scrub (by header value) does not know: the query's (``?api_key=``, raw and decoded) and every
    subprotocol's value (``xi-api-key.<key>``, ``cf-aig-authorization.<token>``), so a transcript
    that repeats one stores ``[REDACTED]``."""
    pairs = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True)]
    pairs += [(name, value) for name, _, value in (p.partition("=") for p in query.split("&"))]
    pairs += [("api-key", proto.partition(".")[2]) for proto in protocols if "." in proto]
    return sent_secrets(pairs)


def _echo_protocol(chosen: str | None, auth_protocol: str | None, others: list[str]) -> str | None:
    """The subprotocol answered to the client: the provider's choice, else the token's, else the
    first offered (a browser fails a handshake whose offered subprotocols get no answer)."""
    if chosen and chosen in others:
        return chosen
    return auth_protocol or (others[0] if others else None)
