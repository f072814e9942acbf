"""The chaos load generator: an aiohttp client that remembers which requests were answered.

Run as a separate process (``python -m bench.chaos_load --url U --duration S --out F``) so it does
not share an interpreter with the suite. ``--concurrency`` workers each send POSTs in a loop on
keep-alive connections until ``--duration`` seconds have passed (or SIGTERM/SIGINT). A request
counts as *answered* when a 2xx response was read to its end; its ``cf-aig-log-id`` header is
recorded. Connection errors (the gateway was killed) are counted and retried after 50 ms.

When the session is ready the process creates the ``--ready`` file; at the end it writes ``--out``:

``{"started": t0, "ended": t1, "answered": [[log_id, t_end], ...], "samples": [[t_start, ms, status], ...],
"statuses": {"200": n, ...}, "errors": {"ClientConnectorError": n, ...}}``

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, the same clock in every process on the machine),
so the suite can line them up with the moment it killed the gateway. ``status`` 0 = no answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import aiohttp

from bench.load import chat_body

__all__ = ["main", "run"]

_ERROR_PAUSE = 0.05


class _Tally:
    def __init__(self) -> None:
        self.answered: list[tuple[str, float]] = []
        self.samples: list[tuple[float, float, int]] = []
        self.statuses: dict[str, int] = {}
        self.errors: dict[str, int] = {}


async def _worker(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], deadline: float, stop: asyncio.Event, tally: _Tally) -> None:
    while not stop.is_set() and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                status = resp.status
                log_id = resp.headers.get("cf-aig-log-id", "")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            t1 = time.monotonic()
            tally.samples.append((t0, (t1 - t0) * 1000, 0))
            name = type(exc).__name__
            tally.errors[name] = tally.errors.get(name, 0) + 1
            await asyncio.sleep(_ERROR_PAUSE)
            continue
        t1 = time.monotonic()
        tally.samples.append((t0, (t1 - t0) * 1000, status))
        tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
        if 200 <= status < 300 and log_id:
            tally.answered.append((log_id, t1))


async def run(url: str, *, concurrency: int, duration: float, request_timeout: float, headers: dict[str, str], body: bytes, ready: Path | None) -> dict:
    """Load ``url`` for ``duration`` s; returns the tally (see the module docstring)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tally = _Tally()
    timeout = aiohttp.ClientTimeout(total=request_timeout)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        started = time.monotonic()
        if ready is not None:
            ready.write_text(str(started))
        deadline = started + duration
        all_headers = {"Content-Type": "application/json", **headers}
        workers = [asyncio.create_task(_worker(session, url, body, all_headers, deadline, stop, tally)) for _ in range(concurrency)]
        # Every request is bounded by request_timeout, so the workers end by deadline + that.
        await asyncio.wait(workers, timeout=duration + request_timeout + 5)
        for w in workers:
            w.cancel()
        ended = time.monotonic()
    return {
        "started": started,
        "ended": ended,
        "answered": tally.answered,
        "samples": tally.samples,
        "statuses": tally.statuses,
        "errors": tally.errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_load", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--model", default="chaos-load")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ready", type=Path)
    args = parser.parse_args(argv)
    headers = dict(h.split(": ", 1) for h in args.header)
    headers.setdefault("Authorization", "Bearer sk-chaos-load")
    body = chat_body(args.model)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    result = runner(
        run(args.url, concurrency=args.concurrency, duration=min(args.duration, 600.0), request_timeout=args.request_timeout,
            headers=headers, body=body, ready=args.ready)
    )  # fmt: skip
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
