"""``AsyncAIGateway``: the binding methods for asyncio code, on aiohttp."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, Mapping

import aiohttp

from proxy_core.client.errors import GatewayConnectionError
from proxy_core.client.models import GatewayLog
from proxy_core.client.protocol import (
    Call,
    GatewayCalls,
    LineSplitter,
    ResponseInfo,
    UniversalRequest,
    api_error,
    api_result,
    response_headers,
)

__all__ = ["AsyncAIGateway", "AsyncGatewayResponse"]

_BROKEN = (aiohttp.ClientError, asyncio.TimeoutError)


class AsyncGatewayResponse(ResponseInfo):
    """The answer of :meth:`AsyncAIGateway.run`, like the ``Response`` a Worker's ``run`` returns.

    ``await response.json()`` / ``text()`` / ``read()`` at once, or ``async for chunk in
    response`` (:meth:`iter_lines` for server-sent events) while it streams. Reading to the end,
    or ``async with``, releases the connection.
    """

    def __init__(self, raw: aiohttp.ClientResponse) -> None:
        self._raw = raw
        self.status = raw.status
        self.headers = response_headers(list(raw.headers.items()))
        self._body: bytes | None = None

    async def read(self) -> bytes:
        if self._body is None:
            try:
                self._body = await self._raw.read()
            except _BROKEN as exc:
                raise GatewayConnectionError(f"the answer broke off: {exc!r}") from exc
            finally:
                self._raw.release()
        return self._body

    async def text(self) -> str:
        return (await self.read()).decode("utf-8", errors="replace")

    async def json(self) -> Any:
        return json.loads(await self.read())

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        if self._body is not None:
            yield self._body
            return
        try:
            async for chunk in self._raw.content.iter_any():
                yield chunk
        except _BROKEN as exc:
            raise GatewayConnectionError(f"the stream broke off: {exc!r}") from exc
        finally:
            self._raw.release()
        self._body = b""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_bytes()

    async def iter_lines(self) -> AsyncIterator[bytes]:
        """The body line by line, each with its ``\\n``; the last may lack one."""
        lines = LineSplitter()
        async for chunk in self.iter_bytes():
            for line in lines.feed(chunk):
                yield line
        if rest := lines.rest():
            yield rest

    async def raise_for_status(self) -> None:
        """Raise :class:`GatewayAPIError` (with the envelope's code) unless the status is 2xx."""
        if not self.ok:
            raise api_error(self.status, self.headers, await self.read())

    def close(self) -> None:
        self._raw.close()

    async def __aenter__(self) -> AsyncGatewayResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._raw.release()


class AsyncAIGateway:
    """The async twin of :class:`proxy_core.client.AIGateway`; the same arguments, plus an
    optional ``session`` of your own (left open; otherwise one is made on first use and closed by
    :meth:`aclose` or ``async with``)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8787",
        *,
        account: str = "local",
        gateway: str = "default",
        token: str | None = None,
        gateway_token: str | None = None,
        timeout: float = 600.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._calls = GatewayCalls(base_url, account, gateway, token, gateway_token)
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._session = session
        self._owns_session = session is None

    def get_url(self, provider: str | None = None) -> str:
        """The gateway's base URL (ending in ``/``), or a provider's endpoint under it. Built
        locally, so not a coroutine: it makes no request."""
        return self._calls.url(provider)

    async def get_log(self, log_id: str) -> GatewayLog:
        """A log by its id (``response.log_id``); see :meth:`AIGateway.get_log`."""
        return GatewayLog.from_json(await self._result(self._calls.get_log(log_id)))

    async def patch_log(
        self,
        log_id: str,
        *,
        feedback: int | None = None,
        score: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> GatewayLog:
        """Set feedback (-1, 0, 1), score (0–100) and/or merge metadata; returns the updated log."""
        return GatewayLog.from_json(await self._result(self._calls.patch_log(log_id, feedback, score, metadata)))

    async def run(
        self, request: UniversalRequest, *, headers: Mapping[str, str] | None = None
    ) -> AsyncGatewayResponse:
        """A universal request (one object or a fallback list); see :meth:`AIGateway.run`."""
        return AsyncGatewayResponse(await self._send(self._calls.run(request, headers)))

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AsyncAIGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, call: Call) -> aiohttp.ClientResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            return await self._session.request(
                call.method, call.url, data=call.body, headers=call.headers, timeout=self._timeout,
                allow_redirects=False,
            )  # fmt: skip
        except _BROKEN as exc:
            raise GatewayConnectionError(f"{call.method} {call.url}: {exc!r}") from exc

    async def _result(self, call: Call) -> Any:
        raw = await self._send(call)
        try:
            body = await raw.read()
        except _BROKEN as exc:
            raise GatewayConnectionError(f"{call.method} {call.url}: {exc!r}") from exc
        finally:
            raw.release()
        return api_result(raw.status, response_headers(list(raw.headers.items())), body)
