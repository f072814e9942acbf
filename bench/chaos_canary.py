"""Chaos scenario 7: canary secrets. Does any credential a client sends end up anywhere we keep?

Each place a credential can travel gets its own unique canary (``CANARY`` + a label + random hex):
every credential header, every credential query name, the realtime WebSocket subprotocols, error
paths (an upstream echoing the key in its error, a refused upstream, unknown provider/gateway, a
timeout, a universal-endpoint step) and four kinds of malformed raw-socket requests (10,000 in
all). Then every canary is searched in the SQLite file, its ``-wal``, the crash spool, the
gateway's stdout and stderr (access log on), the logs list, logs export, stored bodies and a
dataset export. The suite never prints a canary: rows name the labels that were found.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.chaos_common import Context, Row, verdict
from bench.chaos_gateway import Gateway, spawn, write_config
from bench.targets import free_port

__all__ = ["canary"]

HEADER_FORMS = {
    "Authorization": "Bearer {}",
    "x-api-key": "{}",
    "api-key": "{}",
    "x-goog-api-key": "{}",
    "xi-api-key": "{}",
    "cf-aig-authorization": "Bearer {}",
    "Proxy-Authorization": "Basic {}",
    "Cookie": "session={}",
}
QUERY_NAMES = ("key", "api_key", "api-key", "apikey", "token", "access_token")
MALFORMED_KINDS = ("ctl-char", "overlong", "bad-query", "no-colon")


class Canaries:
    """label → unique canary value; :meth:`hits` counts each in a blob of bytes."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def new(self, label: str) -> str:
        value = "CANARY" + "".join(ch for ch in label if ch.isalnum()) + secrets.token_hex(10)
        self.values[label] = value
        return value

    def hits(self, blob: bytes) -> dict[str, int]:
        found = {}
        for label, value in self.values.items():
            n = blob.count(value.encode())
            if n:
                found[label] = n
        return found


def _chat(model: str = "chaos-canary", stream: bool = False) -> bytes:
    doc: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "canary"}], "max_tokens": 8}
    if stream:
        doc["stream"] = True
    return json.dumps(doc).encode()


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> int:
    try:
        async with session.post(url, data=body, headers={"Content-Type": "application/json", **headers}, allow_redirects=False) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 0


async def _ws(session: aiohttp.ClientSession, url: str, protocols: tuple[str, ...]) -> str:
    try:
        async with session.ws_connect(url, protocols=protocols, timeout=aiohttp.ClientWSTimeout(ws_close=5)) as ws:
            await asyncio.wait_for(ws.receive(), 5)
            await ws.send_str('{"type":"response.create"}')
            for _ in range(5):
                msg = await asyncio.wait_for(ws.receive(), 5)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            return "101"
    except aiohttp.WSServerHandshakeError as exc:
        return str(exc.status)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return type(exc).__name__


async def _well_formed(gw: Gateway, c: Canaries) -> dict[str, Any]:
    """Every credential header, query name, subprotocol and error path, each with its own canary."""
    statuses: dict[str, Any] = {}
    url = gw.url()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        for name, form in HEADER_FORMS.items():
            value = form.format(c.new(f"header {name}"))
            statuses[f"header {name}"] = [await _post(s, url, _chat(stream=st), {name: value}) for st in (False, True)]
        for q in QUERY_NAMES:
            v = c.new(f"query {q}")
            statuses[f"query {q}"] = [await _post(s, f"{url}?{q}={v}", _chat(), {}), await _get(s, gw.url(path=f"models?{q}={v}"))]
        ws_base = gw.base.replace("http://", "ws://") + gw.prefix
        statuses["ws openai-insecure-api-key"] = await _ws(s, f"{ws_base}/openai/realtime?model=gpt-4o-realtime",
                                                           ("realtime", "openai-insecure-api-key." + c.new("ws openai-insecure-api-key"), "openai-beta.realtime-v1"))  # fmt: skip
        statuses["ws xi-api-key"] = await _ws(s, f"{ws_base}/elevenlabs/v1/text-to-speech/voice/stream-input?model_id=m", ("xi-api-key." + c.new("ws xi-api-key"),))
        statuses["ws cf-aig-authorization"] = await _ws(s, f"{ws_base}/openai/realtime?model=gpt-4o-realtime", ("realtime", "cf-aig-authorization." + c.new("ws cf-aig-authorization")))
        statuses.update(await _error_paths(s, gw, c))
    return statuses


async def _get(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> int:
    try:
        async with session.get(url, headers=headers or {}, allow_redirects=False) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 0


async def _error_paths(s: aiohttp.ClientSession, gw: Gateway, c: Canaries) -> dict[str, Any]:
    url = gw.url()
    echo = c.new("error upstream echoes key")
    return {
        "error echo": await _post(s, f"{url}?key={echo}", _chat("fault-echo-credential"), {"Authorization": f"Bearer {echo}", "x-api-key": echo}),
        "error refused": await _post(s, gw.url("refused") + "?api_key=" + c.new("error refused query"), _chat(), {"Authorization": "Bearer " + c.new("error refused header")}),
        "error unknown provider": await _post(s, gw.url("no-such-provider", "x"), _chat(), {"Authorization": "Bearer " + c.new("error unknown provider")}),
        "error unknown gateway": await _post(s, f"{gw.base}/v1/local/no-such-gateway/openai/chat/completions", _chat(), {"x-api-key": c.new("error unknown gateway")}),
        "error bad json": await _post(s, url, b'{"model": ', {"Authorization": "Bearer " + c.new("error bad json")}),
        "error timeout": await _post(s, url, _chat("fault-late"), {"Authorization": "Bearer " + c.new("error timeout"), "cf-aig-request-timeout": "500"}),
        "error 500": await _post(s, url, _chat("fault-500"), {"x-goog-api-key": c.new("error upstream 500")}),
        "universal step": await _post(s, gw.base + gw.prefix, json.dumps([{
            "provider": "openai", "endpoint": "chat/completions", "headers": {"Authorization": "Bearer " + c.new("universal step header")},
            "query": {"key": c.new("universal step query")}, "query_string": "", "config": {}, "body": {"model": "chaos", "messages": []},
        }]).encode(), {}),  # fmt: skip
        "error path traversal": await _get(s, gw.url(path="../../x?key=" + c.new("error path traversal"))),
    }


def _malformed(kind: str, i: int, prefix: str, canary: str) -> bytes:
    host = "Host: 127.0.0.1\r\n"
    path = f"{prefix}/openai/chat/completions"
    if kind == "ctl-char":
        return f"POST {path} HTTP/1.1\r\n{host}Authorization: Bearer {canary}\x01\r\nContent-Length: 2\r\n\r\n{{}}".encode("latin-1")
    if kind == "overlong":
        return f"POST {path} HTTP/1.1\r\n{host}Authorization: Bearer {canary}{'A' * 20_000}\r\nContent-Length: 2\r\n\r\n{{}}".encode("latin-1")
    if kind == "bad-query":
        bad = ("\x01", "\x7f", "\x00", "%zz\"<>")[i % 4]
        return f"GET {prefix}/openai/models?key={canary}{bad} HTTP/1.1\r\n{host}\r\n".encode("latin-1")
    return f"POST {path} HTTP/1.1\r\n{host}x-api-key {canary}\r\nContent-Length: 2\r\n\r\n{{}}".encode("latin-1")


async def _raw_one(port: int, payload: bytes) -> str:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    except (OSError, asyncio.TimeoutError):
        return "connect failed"
    try:
        writer.write(payload)
        await writer.drain()
        head = await asyncio.wait_for(reader.read(4096), 5)
        parts = head.split(b" ", 2)
        return parts[1].decode("latin-1", "replace") if head.startswith(b"HTTP/") and len(parts) > 1 else "no answer"
    except (OSError, asyncio.TimeoutError):
        return "no answer"
    finally:
        writer.close()


async def _raw_batch(gw: Gateway, c: Canaries, total: int, concurrency: int = 64) -> dict[str, dict[str, int]]:
    """``total`` malformed requests on fresh connections, the four kinds in turn."""
    values = {k: c.new(f"malformed {k}") for k in MALFORMED_KINDS}
    tally: dict[str, dict[str, int]] = {k: {} for k in MALFORMED_KINDS}
    gate = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + 90

    async def one(i: int) -> None:
        kind = MALFORMED_KINDS[i % len(MALFORMED_KINDS)]
        async with gate:
            if time.monotonic() > deadline:
                outcome = "not sent (time limit)"
            else:
                outcome = await _raw_one(gw.port, _malformed(kind, i, gw.prefix, values[kind]))
        tally[kind][outcome] = tally[kind].get(outcome, 0) + 1

    await asyncio.gather(*(one(i) for i in range(total)))
    return tally


async def _exports(gw: Gateway, out: Path) -> dict[str, Path]:
    """Fetch the logs list (every page), the logs export, stored bodies and a dataset export."""
    api = f"{gw.base}/client/v4/accounts/local/ai-gateway/gateways/default"
    auth = {"Authorization": f"Bearer {gw.admin_token()}"}
    files: dict[str, Path] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), headers=auth) as s:
        pages, ids = [], []
        for page in range(1, 41):
            async with s.get(f"{api}/logs", params={"per_page": "50", "page": str(page)}) as r:
                data = await r.read()
            pages.append(data)
            result = (json.loads(data) if data.startswith(b"{") else {}).get("result") or []
            ids += [x.get("id") for x in result if isinstance(x, dict)]
            if len(result) < 50:
                break
        files["logs list API"] = _save(out / "logs-list.json", b"\n".join(pages))
        async with s.get(f"{api}/logs/export") as r:
            files["logs export API"] = _save(out / "logs-export.jsonl", await r.read())
        bodies = []
        for log_id in ids[:200]:
            for part in ("request", "response"):
                async with s.get(f"{api}/logs/{log_id}/{part}") as r:
                    bodies.append(await r.read())
            async with s.get(f"{api}/logs/{log_id}") as r:
                bodies.append(await r.read())
        files["log get/request/response API"] = _save(out / "log-bodies.bin", b"\n".join(bodies))
        async with s.post(f"{api}/datasets", json={"name": "chaos-canary", "filters": []}) as r:
            doc = json.loads(await r.read() or b"{}")
        dataset_id = (doc.get("result") or {}).get("id")
        if dataset_id:
            async with s.get(f"{api}/datasets/{dataset_id}/export") as r:
                files["dataset export API"] = _save(out / "dataset-export.jsonl", await r.read())
    return files


def _save(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _read(paths: list[Path]) -> bytes:
    out = b""
    for p in paths:
        try:
            out += p.read_bytes() + b"\n"
        except OSError:
            pass
    return out


def canary(ctx: Context) -> list[Row]:
    """Scenario 7: send canaries everywhere, then search everything the gateway keeps or prints."""
    total = 10_000
    out = ctx.scenario_dir("canary")
    upstream = spawn("upstream", [sys.executable, "-m", "bench.chaos_upstream", "--port", "0", "--late-seconds", "2"], out)
    deadline = time.monotonic() + 20
    while "listening on" not in upstream.stdout() and time.monotonic() < deadline and upstream.alive():
        time.sleep(0.05)
    port = int(upstream.stdout().split("listening on ")[1].split()[0])
    base = f"http://127.0.0.1:{port}"
    config = write_config(out / "config.toml", {"openai": base + "/v1", "elevenlabs": base, "refused": f"http://127.0.0.1:{free_port()}/v1"}, custom=("refused",))
    gw = Gateway(out, out / "data", config, quiet=False)  # access log on: stdout is searched too
    c = Canaries()
    data = gw.data_dir
    try:
        gw.start()
        gw.answers(20)
        statuses = asyncio.run(_well_formed(gw, c))
        err_before = gw.proc.stderr_path.stat().st_size
        out_before = gw.proc.stdout_path.stat().st_size
        t0 = time.monotonic()
        raw = asyncio.run(_raw_batch(gw, c, total))
        raw_s = time.monotonic() - t0
        err_bytes = gw.proc.stderr_path.stat().st_size - err_before
        out_bytes = gw.proc.stdout_path.stat().st_size - out_before
        gw.wait_queue_empty(20)
        exports = asyncio.run(_exports(gw, out))
        live_wal = _read([data / "aigw.db-wal", data / "aigw.db-shm"])
        rc = gw.terminate(60)
    finally:
        gw.stop()
        upstream.end(5)
    places = {
        "DB file (aigw.db)": _read([data / "aigw.db"]),
        "DB -wal/-shm (live and after stop)": live_wal + _read([data / "aigw.db-wal", data / "aigw.db-shm"]),
        "crash spool": _read(sorted((data / "log-spool").glob("*"))) if (data / "log-spool").exists() else b"",
        "gateway stdout": _read([gw.proc.stdout_path]),
        "gateway stderr": _read([gw.proc.stderr_path]),
        **{name: _read([p]) for name, p in exports.items()},
    }
    found = {place: c.hits(blob) for place, blob in places.items()}
    ctx.details["canary"] = {
        "canaries": sorted(c.values), "statuses": statuses, "malformed": raw, "malformed_s": round(raw_s, 1),
        "stderr_bytes": err_bytes, "stdout_bytes_malformed": out_bytes, "exit": rc,
        "hits": found, "bytes_searched": {p: len(b) for p, b in places.items()},
    }  # fmt: skip
    rows = [
        Row(f"canary: hits in {place}", _hit_text(hits, len(places[place])), "0", verdict(not hits))
        for place, hits in found.items()
    ]
    answered = sum(n for k in raw.values() for o, n in k.items() if o.isdigit())
    by_status: dict[str, int] = {}
    for kind in raw.values():
        for o, n in kind.items():
            by_status[o] = by_status.get(o, 0) + n
    rows += [
        Row(f"canary: {total} malformed raw requests", f"{answered} answered in {raw_s:.1f} s: " + ", ".join(f"{k}×{v}" for k, v in sorted(by_status.items()))),
        Row("canary: gateway stderr per malformed request", f"{err_bytes / total:.1f} B ({err_bytes} B in all; stdout {out_bytes / total:.1f} B)"),
    ]
    return rows


def _hit_text(hits: dict[str, int], size: int) -> str:
    if not hits:
        return f"0 ({size} B searched)"
    labels = ", ".join(f"{label}×{n}" for label, n in sorted(hits.items()))
    return f"{sum(hits.values())}: {labels}"
