"""A fault-injecting upstream for the chaos suite: raw asyncio streams, so every byte is ours.

The fault is chosen by the request's model (JSON body ``"model"``, or ``?model=`` on a GET or a
WebSocket upgrade); anything else gets a normal OpenAI-shaped answer:

========================  =========================================================================
``fault-reset-before``    the request is read, then the connection is reset (RST), no status line
``fault-reset-mid``       SSE headers and two events, then RST
``fault-late``            waits ``--late-seconds`` (3 s) before the status line, then answers
``fault-429``             429 with a JSON error and ``retry-after: 1``
``fault-500`` / ``-503``  that status with a JSON error
``fault-malformed``       200 ``application/json`` whose body is cut off mid-object
``fault-sse-no-done``     a complete SSE stream without ``data: [DONE]``
``fault-gzip-bomb``       200 ``Content-Encoding: gzip``: ~1 GiB of zeros compressed to ~1 MB
``fault-redirect``        302 to ``http://127.0.0.2:OTHER/followed`` (another host; counted if hit)
``fault-echo-credential`` 401 whose error message repeats every credential header and the query
========================  =========================================================================

A WebSocket upgrade gets a 101 (choosing ``realtime`` if offered), one text frame, then a close
after the client's first frame. ``GET /__stats`` → ``{"faults": {...}, "followed": n}``.

Run: ``python -m bench.chaos_upstream --port 0 --bomb FILE`` prints
``chaos upstream listening on PORT OTHER`` once bound. :func:`ensure_bomb` makes ``FILE`` once.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.mock_upstream import chat_completion_body

__all__ = ["FAULTS", "ensure_bomb", "main"]

FAULTS = (
    "fault-reset-before", "fault-reset-mid", "fault-late", "fault-429", "fault-500", "fault-503",
    "fault-malformed", "fault-sse-no-done", "fault-gzip-bomb", "fault-redirect", "fault-echo-credential",
)  # fmt: skip
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key", "xi-api-key", "proxy-authorization", "cookie")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BOMB_BYTES = 1 << 30


def ensure_bomb(path: Path) -> Path:
    """A gzip member of 1 GiB of zeros (~1 MB), made once (~5 s) and reused while its trailer is right."""
    if path.exists() and path.stat().st_size > 1000:
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            if struct.unpack("<I", f.read(4))[0] == BOMB_BYTES % (1 << 32):
                return path
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(16 << 20)
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        for _ in range(BOMB_BYTES // len(zeros)):
            f.write(comp.compress(zeros))
        f.write(comp.flush())
    tmp.replace(path)
    return path


class _State:
    faults: dict[str, int] = {}
    followed = 0
    bomb = b""
    late_seconds = 3.0
    other_port = 0


def _sse_events(model: str, *, done: bool) -> list[bytes]:
    base = {"id": "chatcmpl-chaos", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": w + " "}, "finish_reason": None}]}
              for w in ("chaos", "upstream", "says", "hello")]  # fmt: skip
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}})
    out = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events]
    if done:
        out.append(b"data: [DONE]\n\n")
    return out


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json_answer(status: str, body: bytes, extra: dict[str, str] | None = None) -> bytes:
    return _head(status, {"content-type": "application/json", "content-length": str(len(body)), **(extra or {})}) + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), not FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        elif headers.get("content-length"):
            body = await reader.readexactly(int(headers["content-length"]))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        return None
    return method, target, headers, body


def _model_of(target: str, body: bytes) -> str:
    query = parse_qs(urlsplit(target).query)
    if query.get("model"):
        return query["model"][0]
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        return ""
    return str(doc.get("model", "")) if isinstance(doc, dict) else ""


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await _read_request(reader)
            if request is None:
                break
            method, target, headers, body = request
            if not await _answer(method, target, headers, body, reader, writer):
                return
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        if not writer.is_closing():
            writer.close()


async def _answer(method: str, target: str, headers: dict[str, str], body: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Answer one request; False when the connection is finished (reset or closed)."""
    if target.startswith("/__stats"):
        data = json.dumps({"faults": _State.faults, "followed": _State.followed}).encode()
        writer.write(_json_answer("200 OK", data))
        await writer.drain()
        return True
    model = _model_of(target, body)
    if model in FAULTS:
        _State.faults[model] = _State.faults.get(model, 0) + 1
    if headers.get("upgrade", "").lower() == "websocket":
        await _websocket(headers, reader, writer)
        return False
    stream = b'"stream":true' in body.replace(b" ", b"")
    if model == "fault-reset-before":
        _reset(writer)
        return False
    if model == "fault-reset-mid":
        events = _sse_events(model, done=True)
        writer.write(_head("200 OK", {"content-type": "text/event-stream", "transfer-encoding": "chunked"}) + _chunk(events[0]) + _chunk(events[1]))
        await writer.drain()
        await asyncio.sleep(0.05)
        _reset(writer)
        return False
    if model == "fault-late":
        await asyncio.sleep(_State.late_seconds)
    if model in ("fault-429", "fault-500", "fault-503"):
        code = model.rsplit("-", 1)[1]
        phrase = {"429": "Too Many Requests", "500": "Internal Server Error", "503": "Service Unavailable"}[code]
        err = json.dumps({"error": {"message": f"chaos {code}", "type": "server_error", "code": code}}).encode()
        writer.write(_json_answer(f"{code} {phrase}", err, {"retry-after": "1"} if code == "429" else None))
    elif model == "fault-malformed":
        writer.write(_json_answer("200 OK", b'{"id":"chatcmpl-chaos","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi'))
    elif model == "fault-gzip-bomb":
        writer.write(_head("200 OK", {"content-type": "application/json", "content-encoding": "gzip", "content-length": str(len(_State.bomb))}))
        view = memoryview(_State.bomb)
        for i in range(0, len(view), 256 * 1024):
            writer.write(view[i : i + 256 * 1024])
            await writer.drain()
    elif model == "fault-redirect":
        writer.write(_head("302 Found", {"location": f"http://127.0.0.2:{_State.other_port}/followed", "content-length": "0"}))
    elif model == "fault-echo-credential":
        said = " ".join(headers[h] for h in _CREDENTIAL_HEADERS if h in headers)
        query = urlsplit(target).query
        err = json.dumps({"error": {"message": f"Incorrect API key provided: {said} (query {query})", "type": "invalid_request_error"}}).encode()
        writer.write(_json_answer("401 Unauthorized", err))
    elif stream or model == "fault-sse-no-done":
        events = _sse_events(model or "chaos", done=model != "fault-sse-no-done")
        writer.write(_head("200 OK", {"content-type": "text/event-stream", "transfer-encoding": "chunked"}) + b"".join(_chunk(e) for e in events) + b"0\r\n\r\n")
    else:
        writer.write(_json_answer("200 OK", chat_completion_body(model or "chaos")))
    await writer.drain()
    return True


async def _websocket(headers: dict[str, str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    accept = base64.b64encode(hashlib.sha1((headers.get("sec-websocket-key", "") + _WS_GUID).encode()).digest()).decode()
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    extra = {"sec-websocket-protocol": "realtime"} if "realtime" in offered else {}
    writer.write(_head("101 Switching Protocols", {"upgrade": "websocket", "connection": "Upgrade", "sec-websocket-accept": accept, **extra}))
    hello = b'{"type":"session.created"}'
    writer.write(bytes([0x81, len(hello)]) + hello)
    await writer.drain()
    try:
        await asyncio.wait_for(_read_ws_frame(reader), 5)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.write(b"\x88\x02" + struct.pack("!H", 1000))
    await writer.drain()
    writer.close()


async def _read_ws_frame(reader: asyncio.StreamReader) -> bytes:
    b0, b1 = await reader.readexactly(2)
    length = b1 & 0x7F
    if length == 126:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(min(length, 1 << 20))
    return bytes(c ^ mask[i % 4] for i, c in enumerate(data))


async def _other_host(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The redirect's target: any request here means a redirect was followed."""
    if await _read_request(reader) is not None:
        _State.followed += 1
        writer.write(_json_answer("200 OK", b'{"followed":true}', {"connection": "close"}))
        await writer.drain()
    writer.close()


async def serve(port: int) -> None:
    main_server = await asyncio.start_server(_handle, "127.0.0.1", port, limit=1 << 20, backlog=1024)
    other = await asyncio.start_server(_other_host, "127.0.0.2", 0)
    _State.other_port = other.sockets[0].getsockname()[1]
    print(f"chaos upstream listening on {main_server.sockets[0].getsockname()[1]} {_State.other_port}", flush=True)
    async with main_server, other:
        await asyncio.gather(main_server.serve_forever(), other.serve_forever())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_upstream", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bomb", type=Path, help="gzip file served by fault-gzip-bomb (see ensure_bomb)")
    parser.add_argument("--late-seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.bomb is not None:
        _State.bomb = args.bomb.read_bytes()
    _State.late_seconds = args.late_seconds
    try:
        asyncio.run(serve(args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
