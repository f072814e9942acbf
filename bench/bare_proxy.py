"""The baseline: a bare aiohttp passthrough, the practical limit for a Python proxy.

One ``web.Application`` with a catch-all route, one pooled ``ClientSession`` and uvloop, nothing
else: no routing table, no header policy, no logging. Every request ``METHOD /path?query`` is sent
to ``UPSTREAM/path?query`` with the client's headers (less hop-by-hop ones) and body bytes; a
response with a known length is read whole and sent in one write, anything else (SSE) is relayed
chunk by chunk as it arrives.

Run: ``python -m bench.bare_proxy --port 0 --upstream http://127.0.0.1:MOCKPORT`` prints
``bare proxy listening on PORT`` once bound; SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import aiohttp
from aiohttp import web

__all__ = ["create_app", "main"]

_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"}
)
_STRIP_RESPONSE = _HOP | {"content-encoding"}
_CLIENT = web.AppKey("client", aiohttp.ClientSession)


def create_app(upstream: str) -> web.Application:
    upstream = upstream.rstrip("/")

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with request.app[_CLIENT].request(
            request.method, upstream + request.raw_path, headers=headers, data=body or None, allow_redirects=False
        ) as up:
            out_headers = {k: v for k, v in up.headers.items() if k.lower() not in _STRIP_RESPONSE}
            ctype = up.headers.get("content-type", "")
            if up.content_length is not None and "event-stream" not in ctype:
                return web.Response(status=up.status, body=await up.read(), headers=out_headers)
            response = web.StreamResponse(status=up.status, headers=out_headers)
            await response.prepare(request)
            async for chunk in up.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def client_ctx(app: web.Application):  # noqa: ANN202 - an async generator
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=0, keepalive_timeout=30)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            app[_CLIENT] = session
            yield

    app = web.Application(client_max_size=25 * 1024 * 1024)
    app.cleanup_ctx.append(client_ctx)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _serve(host: str, port: int, upstream: str) -> None:
    runner = web.AppRunner(create_app(upstream), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"bare proxy listening on {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:9000")
    args = parser.parse_args(argv)
    import uvloop

    uvloop.run(_serve(args.host, args.port, args.upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
