"""A fast OpenAI-shaped mock upstream for the benchmark: a raw asyncio protocol on uvloop.

It shares a core with the load generator, so it must cost far less per request than any proxy
under test: no framework, canned response bytes, one ``bytes.find`` per request head.

Contract (HTTP/1.1, keep-alive, ``Content-Length`` or chunked request bodies):

* any ``POST`` → a ``chat.completion`` JSON body (with ``usage``), or, when the body contains
  ``"stream": true``, an SSE stream (``Transfer-Encoding: chunked``) of ``--chunks`` deltas, a
  usage chunk and ``data: [DONE]``, ``--chunk-delay-ms`` apart (the first one immediately);
* a path starting ``/latN/`` (e.g. ``/lat50/v1/chat/completions``) waits N ms before answering,
  so one mock serves every upstream latency and each target is configured once;
* ``GET /__stats`` → ``{"requests": n, "by_latency": {"0": n0, "50": n50}}`` (not counted), which
  the bench uses to know how many requests a target really forwarded;
* any other ``GET`` → a tiny JSON body (``/v1/models``-like), for health checks.

Run: ``python -m bench.mock_upstream --port 0`` prints ``mock listening on PORT`` once bound.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

__all__ = ["MockProtocol", "serve", "chat_completion_body", "main"]

_ANSWER = "The gateway logs every call caches answers limits rates and lets an operator watch the traffic."


def chat_completion_body(model: str = "bench-model") -> bytes:
    """The canned non-streamed answer (a realistic ~500-byte OpenAI chat.completion)."""
    return orjson.dumps(
        {
            "id": "chatcmpl-bench0000000000000000000000",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": _ANSWER, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 19, "completion_tokens": 17, "total_tokens": 36},
        }
    )


def _sse_events(n_chunks: int, model: str = "bench-model") -> list[bytes]:
    words = _ANSWER.split()
    per = max(1, len(words) // n_chunks)
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    ]
    for i in range(n_chunks):
        text = " ".join(words[i * per : (i + 1) * per if i < n_chunks - 1 else None])
        events.append({**base, "choices": [{"index": 0, "delta": {"content": text + " "}, "finish_reason": None}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": 19, "completion_tokens": 17, "total_tokens": 36}})
    out = [b"data: " + orjson.dumps(e) + b"\n\n" for e in events]
    out.append(b"data: [DONE]\n\n")
    return out


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


_JSON_BODY = chat_completion_body()
_JSON_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: req_bench\r\n"
    b"openai-processing-ms: 1\r\ncontent-length: %d\r\n" % len(_JSON_BODY)
)
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
    b"x-request-id: req_bench\r\ntransfer-encoding: chunked\r\n"
)
_CLOSE = b"connection: close\r\n\r\n"
_KEEP = b"\r\n"


class Stats:
    requests = 0
    by_latency: dict[int, int] = {}


class MockProtocol(asyncio.Protocol):
    """One connection: parse request heads and bodies from a buffer, answer in order."""

    __slots__ = ("transport", "buf", "busy", "pending", "closed", "loop", "events", "chunk_delay")

    def __init__(self, events: list[bytes], chunk_delay: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False  # a delayed answer is outstanding: later requests wait (HTTP/1.1 order)
        self.closed = False
        self.loop = asyncio.get_running_loop()
        self.events = events
        self.chunk_delay = chunk_delay

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        buf = self.buf
        while not self.busy and not self.closed:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                self._bad()
                return
            length = 0
            chunked = False
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip() or 0)
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            start = end + 4
            if chunked:
                parsed = _dechunk(buf, start)
                if parsed is None:
                    return
                body, consumed = parsed
            else:
                if len(buf) < start + length:
                    return
                body = bytes(buf[start : start + length])
                consumed = start + length
            del buf[:consumed]
            self._answer(method, target, body, close)

    def _bad(self) -> None:
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        self.transport.close()
        self.closed = True

    def _answer(self, method: str, target: str, body: bytes, close: bool) -> None:
        transport = self.transport
        assert transport is not None
        if method == "GET" and target.startswith("/__stats"):
            data = orjson.dumps(
                {"requests": Stats.requests, "by_latency": {str(k): v for k, v in Stats.by_latency.items()}}
            )
            transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data))
            return
        latency = 0
        if target.startswith("/lat"):
            slash = target.find("/", 4)
            try:
                latency = int(target[4:slash])
            except ValueError:
                latency = 0
        Stats.requests += 1
        Stats.by_latency[latency] = Stats.by_latency.get(latency, 0) + 1
        stream = method == "POST" and (b'"stream":true' in body or b'"stream": true' in body)
        if latency:
            self.busy = True
            self.loop.call_later(latency / 1000, self._send, stream, close)
        else:
            self._send(stream, close)

    def _send(self, stream: bool, close: bool) -> None:
        self.busy = False
        if self.closed:
            return
        transport = self.transport
        assert transport is not None
        tail = _CLOSE if close else _KEEP
        if not stream:
            transport.write(_JSON_HEAD + tail + _JSON_BODY)
            if close:
                transport.close()
                self.closed = True
            elif self.buf:
                self._process()
            return
        events = self.events
        if self.chunk_delay <= 0:
            transport.write(_SSE_HEAD + tail + b"".join(_chunk(e) for e in events) + b"0\r\n\r\n")
            self._after_stream(close)
            return
        self.busy = True
        transport.write(_SSE_HEAD + tail + _chunk(events[0]))
        self.loop.call_later(self.chunk_delay, self._stream_next, 1, close)

    def _stream_next(self, i: int, close: bool) -> None:
        if self.closed:
            return
        transport = self.transport
        assert transport is not None
        events = self.events
        if i < len(events):
            transport.write(_chunk(events[i]))
            self.loop.call_later(self.chunk_delay, self._stream_next, i + 1, close)
            return
        transport.write(b"0\r\n\r\n")
        self.busy = False
        self._after_stream(close)

    def _after_stream(self, close: bool) -> None:
        if close:
            assert self.transport is not None
            self.transport.close()
            self.closed = True
        elif self.buf:
            self._process()


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``pos``; ``None`` until it is complete."""
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0] or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)  # no trailers are sent by the clients we test
            return (bytes(out), end + 2) if end >= 0 else None
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


async def serve(host: str, port: int, chunks: int, chunk_delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    events = _sse_events(chunks)
    server = await loop.create_server(
        lambda: MockProtocol(events, chunk_delay_ms / 1000), host, port, backlog=4096, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"mock listening on {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mock_upstream", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=8, help="content deltas per streamed answer")
    parser.add_argument("--chunk-delay-ms", type=float, default=2.0, help="delay between streamed events")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a project dependency on Linux
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(args.host, args.port, args.chunks, args.chunk_delay_ms))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
