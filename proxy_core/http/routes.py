"""The HTTP handlers of the request path: provider passthrough, the OpenAI-compatible endpoint and
the universal endpoint. Each admits the request, reads its body, makes its steps and lets the
:class:`~proxy_core.forward.Forwarder` answer into an :class:`~proxy_core.http.sink.HttpSink`.

``/v1/{account}/{gateway}/{provider}/{path}`` is one step; ``POST /v1/{account}/{gateway}`` is a
list of steps tried in order; WebSocket upgrades of a provider path go to the realtime bridge.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import orjson
from aiohttp import web

from proxy_core.admission import Admission, Admitted
from proxy_core.compat import CompatError
from proxy_core.compat_endpoint import build_compat_request
from proxy_core.config import ServerSettings
from proxy_core.errors import ErrorCode, GatewayError, error_response
from proxy_core.forward import Forwarder
from proxy_core.http.sink import HttpSink
from proxy_core.providers.registry import ProviderRegistry
from proxy_core.safepath import check_path
from proxy_core.step import Step, forward_headers
from proxy_core.universal import parse_body, parse_steps

__all__ = ["FORWARDER", "ProviderRoutes", "read_request_body", "split_provider_path"]

FORWARDER = web.AppKey("forwarder", Forwarder)
"""The app's :class:`Forwarder`, built with the upstream session by the app's cleanup context."""


def split_provider_path(request: web.Request, account_id: str, gateway_id: str, provider: str) -> tuple[str, str]:
    """``(path below the provider, raw query)`` of a provider request, still percent-encoded (so
    the path checks see what the client sent)."""
    raw_path = request.raw_path
    query_at = raw_path.find("?")
    raw_tail = raw_path if query_at < 0 else raw_path[:query_at]
    query = "" if query_at < 0 else raw_path[query_at + 1 :]
    prefix = f"/v1/{account_id}/{gateway_id}/{provider}"
    tail = raw_tail[len(prefix) :] if raw_tail.startswith(prefix) else "/" + request.match_info.get("tail", "")
    return tail, query


async def read_request_body(request: web.Request, max_bytes: int, timeout: float) -> bytes:
    """The request body, refusing oversize bodies before reading and slow ones after a deadline."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"Request body exceeds {max_bytes} bytes")
    if not request.body_exists:
        return b""
    try:
        if request.content.is_eof():  # already received with the headers: no deadline to arm
            return await request.read()
        async with asyncio.timeout(timeout):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"Request body exceeds {max_bytes} bytes") from None
    except TimeoutError:
        raise GatewayError(ErrorCode.CLIENT_TIMEOUT, f"Request body not received within {timeout:g}s") from None


class ProviderRoutes:
    """The request path's HTTP handlers."""

    def __init__(
        self,
        server: ServerSettings,
        registry: ProviderRegistry,
        admission: Admission,
        realtime: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> None:
        self.registry = registry
        self.admission = admission
        self.realtime = realtime
        self.max_body = server.max_body_bytes
        self.body_timeout = server.body_read_timeout

    async def provider(self, request: web.Request) -> web.StreamResponse:
        """Provider passthrough (and ``/compat/chat/completions``; WebSocket upgrades go to realtime)."""
        if request.headers.get("Upgrade", "").strip().lower() == "websocket":
            return await self.realtime(request)
        match = request.match_info
        provider = match["provider"]
        request_type = "compat" if provider == "compat" else "provider"
        try:
            admitted = await self.admission.admit(
                match["account"], match["gateway"], request.headers, request_type=request_type,
                method=request.method, provider=provider, path="/" + match.get("tail", ""),
            )  # fmt: skip
        except GatewayError as err:
            return error_response(err)
        if provider == "compat":
            return await self._compat(request, admitted)
        gateway = admitted.gateway
        raw_tail, query = split_provider_path(request, gateway.account_id, gateway.id, provider)
        try:
            check_path(raw_tail)
            resolved = self.registry.resolve(provider, raw_tail, account_id=gateway.account_id)
        except GatewayError as err:
            return error_response(self.admission.refuse(admitted, err, provider, raw_tail, query))
        try:
            body = await read_request_body(request, self.max_body, self.body_timeout)
        except GatewayError as err:
            return error_response(self.admission.refuse(admitted, err, provider, resolved.path, query))
        step = Step(0, provider, resolved, query, request.method, body, forward_headers(request.headers), admitted.policy)
        return await self._forward(request, admitted, [step])

    async def _compat(self, request: web.Request, admitted: Admitted) -> web.StreamResponse:
        """``/compat/chat/completions``: ``model`` is ``{provider}/{model}``; answers come back in
        OpenAI's format whatever the provider."""
        if request.match_info.get("tail", "").strip("/") != "chat/completions" or request.method != "POST":
            err = GatewayError(ErrorCode.NOT_FOUND, "The OpenAI-compatible endpoint is POST /compat/chat/completions")
            return error_response(self.admission.refuse(admitted, err, "compat", "/" + request.match_info.get("tail", "")))
        try:
            body = await read_request_body(request, self.max_body, self.body_timeout)
            compat = build_compat_request(self.registry, admitted.gateway.account_id, body, dict(request.headers))
        except GatewayError as err:
            return error_response(self.admission.refuse(admitted, err, "compat", "/chat/completions"))
        except CompatError as exc:
            # Answered in OpenAI's error format (what the client's SDK parses), logged as a 400.
            err = self.admission.refuse(admitted, GatewayError(ErrorCode.BAD_REQUEST, exc.message), "compat", "/chat/completions")
            return web.Response(status=exc.status, body=orjson.dumps(exc.body()), content_type="application/json",
                                headers={"cf-aig-log-id": err.headers["cf-aig-log-id"]})  # fmt: skip
        step = Step(0, compat.provider, compat.resolved, compat.query, "POST", compat.body,
                    forward_headers(compat.headers), admitted.policy, reply=compat.reply)  # fmt: skip
        return await self._forward(request, admitted, [step])

    async def universal(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/{account}/{gateway}``: one request object or an array of fallbacks."""
        match = request.match_info
        try:
            admitted = await self.admission.admit(
                match["account"], match["gateway"], request.headers, request_type="universal",
                method=request.method, provider="universal", path="/",
            )  # fmt: skip
        except GatewayError as err:
            return error_response(err)
        try:
            body = await read_request_body(request, self.max_body, self.body_timeout)
            steps = parse_steps(self.registry, admitted.gateway.account_id, parse_body(body), admitted.policy)
        except GatewayError as err:
            return error_response(self.admission.refuse(admitted, err, "universal", "/"))
        return await self._forward(request, admitted, steps)

    @staticmethod
    async def _forward(request: web.Request, admitted: Admitted, steps: list[Step]) -> web.StreamResponse:
        sink = HttpSink(request)
        await request.app[FORWARDER].run(admitted, steps, sink)
        assert sink.response is not None, "the forwarder always answers"
        return sink.response
