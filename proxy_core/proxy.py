"""Provider passthrough: ``/v1/{account}/{gateway}/{provider}/{path}`` → provider base + path.

The request path does the least it can: look the gateway up in memory, parse the ``cf-aig-*``
headers, validate the path, forward the body as bytes, and copy the answer back (streams chunk by
chunk as they arrive). Everything else (usage, cost, redaction, the database) happens in the log
pipeline after the client has its answer.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web
from yarl import URL

from proxy_core.config import Settings
from proxy_core.directory import GatewayConfig, GatewayDirectory
from proxy_core.errors import ErrorCode, GatewayError, error_body
from proxy_core.exchange import Exchange
from proxy_core.ids import new_ulid
from proxy_core.logpipe import LogPipe
from proxy_core.policy import RequestPolicy, parse_policy
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.redact import redact_query
from proxy_core.safepath import check_path

__all__ = ["Proxy", "HOP_BY_HOP"]

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
_STRIP_REQUEST = HOP_BY_HOP | {"host", "content-length", "accept-encoding", "expect", "cf-cache-ttl", "cf-skip-cache"}
_STRIP_RESPONSE = HOP_BY_HOP | {"content-length", "content-encoding"}
_BUFFER_LIMIT = 1024 * 1024
"""Responses with a known length up to this size are read whole and sent in one write."""
_STREAM_TYPES = ("text/event-stream", "ndjson", "stream+json")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _forward_headers(request: web.Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in _STRIP_REQUEST or lower.startswith("cf-aig-"):
            continue
        out[name] = value
    return out


def _response_headers(upstream: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    return [(k, v) for k, v in upstream.headers.items() if k.lower() not in _STRIP_RESPONSE]


class Proxy:
    """The passthrough handler and the state it needs (no globals: built by the app factory)."""

    def __init__(
        self,
        settings: Settings,
        registry: ProviderRegistry,
        directory: GatewayDirectory,
        pipe: LogPipe,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.directory = directory
        self.pipe = pipe
        self.client: aiohttp.ClientSession | None = None
        self._max_body = settings.server.max_body_bytes
        self._body_timeout = settings.server.body_read_timeout
        self._max_captured = settings.logs.max_stored_body_bytes

    # -- routing ---------------------------------------------------------------------------------

    def gateway_for(self, account_id: str, gateway_id: str) -> GatewayConfig:
        gateway = self.directory.get(account_id, gateway_id)
        if gateway is None:
            if account_id not in self.directory.accounts():
                raise GatewayError(ErrorCode.UNKNOWN_ACCOUNT, f"Unknown account '{account_id}'")
            raise GatewayError(ErrorCode.UNKNOWN_GATEWAY, f"Unknown gateway '{gateway_id}'")
        return gateway

    async def read_body(self, request: web.Request) -> bytes:
        """The request body, refusing oversize bodies before reading and slow ones after a deadline."""
        length = request.content_length
        if length is not None and length > self._max_body:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"Request body exceeds {self._max_body} bytes")
        if not request.body_exists:
            return b""
        try:
            async with asyncio.timeout(self._body_timeout):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"Request body exceeds {self._max_body} bytes") from None
        except TimeoutError:
            raise GatewayError(
                ErrorCode.CLIENT_TIMEOUT, f"Request body not received within {self._body_timeout:g}s"
            ) from None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        started_ms = _now_ms()
        log_id = new_ulid(started_ms)
        match = request.match_info
        account_id, gateway_id, provider = match["account"], match["gateway"], match["provider"]
        raw_path = request.raw_path
        query_at = raw_path.find("?")
        raw_tail = raw_path if query_at < 0 else raw_path[:query_at]
        query = "" if query_at < 0 else raw_path[query_at + 1 :]
        prefix = f"/v1/{account_id}/{gateway_id}/{provider}"
        raw_tail = raw_tail[len(prefix) :] if raw_tail.startswith(prefix) else "/" + match.get("tail", "")
        policy: RequestPolicy | None = None
        gateway: GatewayConfig | None = None
        try:
            gateway = self.gateway_for(account_id, gateway_id)
            policy = parse_policy(request.headers)
            check_path(raw_tail)
            resolved = self.registry.resolve(provider, raw_tail, account_id=account_id)
        except GatewayError as err:
            return self._early_error(request, err, log_id, started, started_ms, gateway, policy, provider, raw_tail, query)
        collect = gateway.collect_logs if policy.collect_log is None else policy.collect_log
        ex = Exchange(
            id=log_id,
            account_id=account_id,
            gateway_id=gateway_id,
            started_ms=started_ms,
            provider=provider,
            family=resolved.spec.family,
            path=resolved.path + ("?" + redact_query(query) if query else ""),
            method=request.method,
            request_type="provider",
            policy=policy,
            collect_bodies=collect,
            request_headers=list(request.headers.items()),
        )
        reply_headers = {"cf-aig-log-id": log_id, "cf-aig-cache-status": "MISS"}
        if policy.event_id:
            reply_headers["cf-aig-event-id"] = policy.event_id
        try:
            ex.request_body = await self.read_body(request)
        except GatewayError as err:
            return await self._fail(request, ex, err, reply_headers, started)
        url = resolved.upstream_base + resolved.path + ("?" + query if query else "")
        return await self.forward(request, ex, url, reply_headers, started)

    # -- the upstream call -----------------------------------------------------------------------

    async def forward(
        self,
        request: web.Request,
        ex: Exchange,
        url: str,
        reply_headers: dict[str, str],
        started: float,
    ) -> web.StreamResponse:
        assert self.client is not None, "the upstream session is opened by the app's cleanup context"
        try:
            upstream = await self.client.request(
                request.method,
                URL(url, encoded=True),
                headers=_forward_headers(request),
                data=ex.request_body or None,
                allow_redirects=False,
            )
        except asyncio.TimeoutError:
            err = GatewayError(ErrorCode.UPSTREAM_TIMEOUT, f"Provider '{ex.provider}' did not answer in time")
            return await self._fail(request, ex, err, reply_headers, started)
        except aiohttp.ClientError as exc:
            err = GatewayError(
                ErrorCode.UPSTREAM_UNREACHABLE, f"Provider '{ex.provider}' is unreachable: {type(exc).__name__}"
            )
            return await self._fail(request, ex, err, reply_headers, started)
        ex.ttfb_ms = int((time.perf_counter() - started) * 1000)
        ex.status_code = upstream.status
        ex.response_headers = _response_headers(upstream)
        if not 200 <= upstream.status < 300:
            ex.error = f"upstream answered {upstream.status}"
        content_type = upstream.headers.get("content-type", "")
        length = upstream.content_length
        try:
            if length is not None and length <= _BUFFER_LIMIT and not any(t in content_type for t in _STREAM_TYPES):
                return await self._relay_whole(request, ex, upstream, reply_headers, started)
            return await self._relay_stream(request, ex, upstream, reply_headers, started)
        finally:
            upstream.release()

    async def _relay_whole(
        self,
        request: web.Request,
        ex: Exchange,
        upstream: aiohttp.ClientResponse,
        reply_headers: dict[str, str],
        started: float,
    ) -> web.StreamResponse:
        try:
            body = await upstream.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            err = GatewayError(
                ErrorCode.UPSTREAM_UNREACHABLE,
                f"Provider '{ex.provider}' closed the connection mid-response: {type(exc).__name__}",
            )
            return await self._fail(request, ex, err, reply_headers, started)
        response = web.Response(status=upstream.status, body=body, headers=ex.response_headers)
        response.headers.update(reply_headers)
        ex.response_body = body
        ex.response_size = len(body)
        await response.prepare(request)
        await response.write_eof()
        self._finish(ex, started)
        return response

    async def _relay_stream(
        self,
        request: web.Request,
        ex: Exchange,
        upstream: aiohttp.ClientResponse,
        reply_headers: dict[str, str],
        started: float,
    ) -> web.StreamResponse:
        ex.streamed = True
        response = web.StreamResponse(status=upstream.status, headers=ex.response_headers)
        response.headers.update(reply_headers)
        captured = bytearray()
        limit = self._max_captured
        size = 0
        await response.prepare(request)
        reader = upstream.content
        while True:
            try:
                chunk = await reader.readany()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                ex.error_code = ErrorCode.UPSTREAM_UNREACHABLE
                ex.error = f"provider stream broke after {size} bytes: {type(exc).__name__}"
                # The status line is gone already; cutting the connection is the only way left to
                # tell the client its stream is incomplete (a clean end would pass for success).
                if request.transport is not None:
                    request.transport.abort()
                break
            if not chunk:
                break
            size += len(chunk)
            if not ex.response_truncated:
                if len(captured) + len(chunk) <= limit:
                    captured += chunk
                else:
                    ex.response_truncated = True
                    captured.clear()
            try:
                await response.write(chunk)
            except ConnectionError as exc:
                ex.error_code = ErrorCode.CLIENT_DISCONNECTED
                ex.error = f"client disconnected after {size} bytes: {type(exc).__name__}"
                break
        if ex.error_code is None:
            try:
                await response.write_eof()
            except ConnectionError:
                pass
        ex.response_body = None if ex.response_truncated else bytes(captured)
        ex.response_size = size
        self._finish(ex, started)
        return response

    # -- endings ---------------------------------------------------------------------------------

    def _finish(self, ex: Exchange, started: float) -> None:
        ex.duration_ms = int((time.perf_counter() - started) * 1000)
        self.pipe.submit(ex)

    async def _fail(
        self,
        request: web.Request,
        ex: Exchange,
        err: GatewayError,
        reply_headers: dict[str, str],
        started: float,
    ) -> web.StreamResponse:
        body = error_body(err.code, err.message)
        headers = {**err.headers, **reply_headers}
        response = web.Response(status=err.status, body=body, content_type="application/json", headers=headers)
        ex.status_code = err.status
        ex.error_code = err.code
        ex.error = err.message
        ex.response_headers = [("content-type", "application/json")]
        ex.response_body = body
        ex.response_size = len(body)
        await response.prepare(request)
        await response.write_eof()
        self._finish(ex, started)
        return response

    def _early_error(
        self,
        request: web.Request,
        err: GatewayError,
        log_id: str,
        started: float,
        started_ms: int,
        gateway: GatewayConfig | None,
        policy: RequestPolicy | None,
        provider: str,
        raw_tail: str,
        query: str,
    ) -> web.Response:
        """Errors before the request could be attributed fully; logged when the gateway is known."""
        headers = {**err.headers, "cf-aig-log-id": log_id}
        response = web.Response(
            status=err.status,
            body=error_body(err.code, err.message),
            content_type="application/json",
            headers=headers,
        )
        if gateway is not None:
            ex = Exchange(
                id=log_id,
                account_id=gateway.account_id,
                gateway_id=gateway.id,
                started_ms=started_ms,
                provider=provider,
                family=None,
                path=raw_tail + ("?" + redact_query(query) if query else ""),
                method=request.method,
                request_type="provider",
                policy=policy or RequestPolicy(),
                collect_bodies=False,
                request_headers=list(request.headers.items()),
                status_code=err.status,
                error_code=err.code,
                error=err.message,
            )
            self._finish(ex, started)
        return response
