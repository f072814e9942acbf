"""An answer written as an HTTP response (the :class:`~proxy_core.relay.ClientSink` of HTTP clients)."""

from __future__ import annotations

from aiohttp import web
from multidict import CIMultiDict

__all__ = ["HttpSink"]


class HttpSink:
    """Writes one answer to ``request``; :attr:`response` is what the handler returns."""

    __slots__ = ("request", "response")

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response: web.StreamResponse | None = None

    async def send_whole(self, status: int, headers: CIMultiDict[str], body: bytes) -> None:
        response = self.response = web.Response(status=status, body=body, headers=headers)
        await response.prepare(self.request)
        await response.write_eof()

    async def start_stream(self, status: int, headers: CIMultiDict[str]) -> None:
        response = self.response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(self.request)

    async def write(self, chunk: bytes) -> None:
        assert self.response is not None
        await self.response.write(chunk)

    async def end(self) -> None:
        assert self.response is not None
        await self.response.write_eof()

    def abort(self) -> None:
        # The status line is gone already; cutting the connection is the only way left to tell
        # the client its answer is incomplete.
        if self.request.transport is not None:
            self.request.transport.abort()
