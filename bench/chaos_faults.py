"""Chaos scenario 6: the upstream fault matrix against :mod:`bench.chaos_upstream`.

For each fault: what the client got (status, the gateway's error code, whether a stream ended
with ``[DONE]``), whether the log row exists with the same status and a failure flag where the
exchange failed, and the gateway's RSS after. Then three gzip bombs at once: peak RSS (VmHWM,
reset through ``/proc/PID/clear_refs`` before, and VmRSS sampled every 20 ms) and the latency of
unrelated small requests sent meanwhile against their p99 before.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.chaos_common import Context, Row, fmt_ms, verdict
from bench.chaos_gateway import Gateway, db_path, get_json, proc_memory, spawn, write_config
from bench.chaos_upstream import ensure_bomb
from bench.load import percentile
from bench.targets import free_port

__all__ = ["faults"]

MB = 1024 * 1024
RSS_TARGET = 150 * MB
CLIENT_READ_CAP = 8 * MB
"""The client stops reading an answer past this (a gateway that decodes the bomb would send 1 GiB)."""


@dataclass(frozen=True)
class Case:
    label: str
    model: str
    expect: str
    """``error``: a 5xx JSON error of the gateway's; ``timeout``: 504 before the late byte;
    ``relay``: the upstream's status as is; ``cut``: a stream cut short, flagged in the log;
    ``bomb``: served without decoding it all (memory bounded)."""
    provider: str = "openai"
    stream: bool = False
    status: int = 0
    """The status a ``relay`` case must show."""
    headers: tuple[tuple[str, str], ...] = ()


CASES = (
    Case("connection refused", "chaos", "error", provider="refused"),
    Case("reset before headers", "fault-reset-before", "error"),
    Case("reset mid-stream (SSE)", "fault-reset-mid", "cut", stream=True),
    Case("late first byte (3 s > cf-aig-request-timeout 1 s)", "fault-late", "timeout", headers=(("cf-aig-request-timeout", "1000"),)),
    Case("upstream 429", "fault-429", "relay", status=429),
    Case("upstream 500", "fault-500", "relay", status=500),
    Case("upstream 503", "fault-503", "relay", status=503),
    Case("malformed JSON with 200", "fault-malformed", "relay", status=200),
    Case("SSE without [DONE]", "fault-sse-no-done", "relay", stream=True, status=200),
    Case("gzip bomb (1 GiB of zeros as ~1 MB gzip)", "fault-gzip-bomb", "bomb"),
    Case("302 to another host", "fault-redirect", "relay", status=302),
)
_TARGETS = {
    "error": "502/504 JSON error; log row, same status, success=false",
    "timeout": "504 (2006) in < 2.5 s; log row 504, success=false",
    "cut": "stream cut; log row flagged (success=false or error)",
    "relay": "status relayed as is; log row with it",
    "bomb": "answered, RSS after ≤ 150 MB; log row",
}


def _body(model: str, stream: bool) -> bytes:
    doc: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "chaos"}], "max_tokens": 8}
    if stream:
        doc["stream"] = True
    return json.dumps(doc).encode()


async def _call(session: aiohttp.ClientSession, url: str, model: str, *, stream: bool = False, headers: tuple = ()) -> dict[str, Any]:
    """One request; reads at most :data:`CLIENT_READ_CAP` bytes of the answer."""
    t0 = time.monotonic()
    got: dict[str, Any] = {"status": 0, "code": None, "bytes": 0, "done": False, "client_error": None, "log_id": None}
    hdrs = {"Authorization": "Bearer sk-chaos-faults", "Content-Type": "application/json", "Accept-Encoding": "identity", **dict(headers)}
    try:
        async with session.post(url, data=_body(model, stream), headers=hdrs, allow_redirects=False) as resp:
            got["status"] = resp.status
            got["log_id"] = resp.headers.get("cf-aig-log-id")
            got["encoding"] = resp.headers.get("Content-Encoding")
            head = b""
            async for chunk in resp.content.iter_chunked(256 * 1024):
                got["bytes"] += len(chunk)
                if len(head) < 65536:
                    head += chunk[:65536]
                if b"[DONE]" in chunk:
                    got["done"] = True
                if got["bytes"] >= CLIENT_READ_CAP:
                    got["client_error"] = f"stopped reading at {CLIENT_READ_CAP // MB} MB"
                    break
            got["code"] = _error_code(head)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        got["client_error"] = type(exc).__name__
    got["ms"] = (time.monotonic() - t0) * 1000
    return got


def _error_code(body: bytes) -> int | None:
    try:
        doc = json.loads(body)
        return int(doc["error"][0]["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _log_row(gw: Gateway, log_id: str | None) -> dict[str, Any] | None:
    if not log_id:
        return None
    conn = sqlite3.connect(f"file:{db_path(gw.data_dir)}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(
            "select status_code, success, error_code, error, body_truncated, streamed, response_size from logs where id = ?", (log_id,)
        ).fetchone()
    finally:
        conn.close()
    return dict(row) if row else None


def _judge(case: Case, got: dict[str, Any], row: dict[str, Any] | None, rss_after: int, alive: bool) -> bool:
    if not alive or row is None:
        return False
    same = row["status_code"] == got["status"]
    failed = not row["success"] or bool(row["error"])
    if case.expect == "error":
        return got["status"] in (502, 504) and got["code"] is not None and same and failed
    if case.expect == "timeout":
        return got["status"] == 504 and got["ms"] < 2500 and same and failed
    if case.expect == "cut":
        return not got["done"] and failed
    if case.expect == "relay":
        return got["status"] == case.status and same
    return got["status"] > 0 and rss_after <= RSS_TARGET  # bomb


def _measured(got: dict[str, Any], row: dict[str, Any] | None, rss_after: int) -> str:
    client = f"client {got['status'] or 'no answer'}"
    if got["code"]:
        client += f" (code {got['code']})"
    if got["client_error"]:
        client += f" {got['client_error']}"
    client += f", {got['bytes']} B in {fmt_ms(got['ms'])}"
    if row is None:
        log = "no log row" if got["log_id"] else "no cf-aig-log-id"
    else:
        log = f"log {row['status_code']} success={int(row['success'])}" + (f" error_code={row['error_code']}" if row["error_code"] else "")
        if row["body_truncated"]:
            log += " body_truncated"
    return f"{client}; {log}; RSS {rss_after / MB:.0f} MB"


def _clear_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (``echo 5 > /proc/PID/clear_refs``)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        for _ in range(10_000):  # ≤ 200 s
            self.peak = max(self.peak, proc_memory(self.pid).get("VmRSS", 0))
            if self.stop.wait(0.02):
                return


async def _matrix(gw: Gateway) -> list[tuple[Case, dict[str, Any], int, int]]:
    out = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        for case in CASES:
            _clear_peak(gw.pid)
            got = await _call(session, gw.url(case.provider), case.model, stream=case.stream, headers=case.headers)
            mem = gw.memory()
            out.append((case, got, mem.get("VmRSS", 0), mem.get("VmHWM", 0)))
    return out


async def _bombs(gw: Gateway, n: int, rounds: int) -> dict[str, Any]:
    """Baseline p99 of small requests, then ``rounds`` times ``n`` bombs at once with small requests meanwhile."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        url = gw.url()
        for _ in range(5):
            await _call(session, url, "chaos-warm")
        normal = [(await _call(session, url, "chaos-small"))["ms"] for _ in range(60)]
        sampler = _RssSampler(gw.pid)
        cleared = _clear_peak(gw.pid)
        sampler.start()
        during: list[float] = []
        results: list[Any] = []
        deadline = time.monotonic() + 50
        for _ in range(rounds):  # n bombs at once per round; small requests back to back meanwhile
            bombs = [asyncio.create_task(_call(session, url, "fault-gzip-bomb")) for _ in range(n)]
            while not all(b.done() for b in bombs) and time.monotonic() < deadline and len(during) < 2000:
                during.append((await _call(session, url, "chaos-small"))["ms"])
            results += await asyncio.gather(*bombs, return_exceptions=True)
        sampler.stop.set()
        sampler.join(2)
        hwm = gw.memory().get("VmHWM", 0) if cleared else 0
    return {
        "normal_p99_ms": percentile(normal, 99), "during_p99_ms": percentile(during, 99), "during_n": len(during),
        "during_max_ms": max(during) if during else float("nan"), "peak_rss": max(hwm, sampler.peak), "hwm_reset": cleared,
        "bomb_results": [r if isinstance(r, dict) else repr(r) for r in results],
    }  # fmt: skip


def faults(ctx: Context) -> list[Row]:
    """Scenario 6: the fault matrix and the concurrent gzip bombs."""
    out = ctx.scenario_dir("faults")
    bomb = ensure_bomb(ctx.bomb)
    upstream = spawn("upstream", [sys.executable, "-m", "bench.chaos_upstream", "--port", "0", "--bomb", str(bomb)], out)
    deadline = time.monotonic() + 20
    while "listening on" not in upstream.stdout() and time.monotonic() < deadline and upstream.alive():
        time.sleep(0.05)
    port = int(upstream.stdout().split("listening on ")[1].split()[0])
    closed = free_port()  # nothing listens there: connection refused
    config = write_config(out / "config.toml", {"openai": f"http://127.0.0.1:{port}/v1", "refused": f"http://127.0.0.1:{closed}/v1"}, custom=("refused",))
    gw = Gateway(out, out / "data", config).start()
    try:
        gw.answers(20)
        idle = gw.memory().get("VmRSS", 0)
        matrix = asyncio.run(_matrix(gw))
        gw.wait_queue_empty(20)
        bombs = asyncio.run(_bombs(gw, 3, 3 if ctx.quick else 6))
        alive = gw.alive()
        gw.wait_queue_empty(20)
        logged = [(case, got, rss, hwm, _log_row(gw, got["log_id"])) for case, got, rss, hwm in matrix]
        stats = get_json(f"http://127.0.0.1:{port}/__stats") or {}
    finally:
        gw.stop()
        upstream.end(5)
    rows = []
    for case, got, rss, hwm, row in logged:
        ok = _judge(case, got, row, rss, alive)
        rows.append(Row(f"fault: {case.label}", _measured(got, row, rss) + (f", peak {hwm / MB:.0f} MB" if case.expect == "bomb" else ""), _TARGETS[case.expect], verdict(ok)))
    followed = int(stats.get("followed", -1))
    rounds = len(bombs["bomb_results"]) // 3
    ratio = bombs["during_p99_ms"] / bombs["normal_p99_ms"] if bombs["normal_p99_ms"] else float("inf")
    rows += [
        Row("fault: redirects followed to the other host", str(followed), "0", verdict(followed == 0)),
        Row(f"fault: gzip bomb ×3 concurrently ({rounds} rounds): peak RSS", f"{bombs['peak_rss'] / MB:.0f} MB (idle {idle / MB:.0f} MB)", "≤ 150 MB", verdict(bombs["peak_rss"] <= RSS_TARGET)),
        Row("fault: gzip bomb ×3: small request meanwhile, p99 vs normal p99",
            f"{fmt_ms(bombs['during_p99_ms'])} vs {fmt_ms(bombs['normal_p99_ms'])} (×{ratio:.1f}, n={bombs['during_n']}, max {fmt_ms(bombs['during_max_ms'])})",
            "≤ 2×", verdict(ratio <= 2.0)),
        Row("fault: gateway alive after the matrix and the bombs", "yes" if alive else "no", "yes", verdict(alive)),
    ]  # fmt: skip
    ctx.details["faults"] = {
        "idle_rss": idle, "upstream_stats": stats, "bombs": bombs,
        "matrix": [{"case": c.label, "client": g, "rss": r, "hwm": h, "log": row} for c, g, r, h, row in logged],
    }  # fmt: skip
    return rows
