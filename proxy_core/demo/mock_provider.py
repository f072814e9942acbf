"""An embedded mock LLM provider: OpenAI-, Anthropic- and Google-shaped, JSON and SSE.

``--demo`` wires it in place of the real providers so the gateway answers with no API key; the
test suite and ``bench/`` use it as their upstream. Request headers steer it, so tests can
provoke each failure the proxy must survive:

``x-mock-status: 503``         answer with that status and an error body
``x-mock-delay-ms: 200``       wait before answering (time to first byte)
``x-mock-chunk-delay-ms: 50``  wait between streamed chunks
``x-mock-reset: before|mid``   drop the connection before answering, or halfway through a stream

Any other path is echoed back as JSON (method, path, query, headers, body size), which is how the
tests check that each provider's URL and headers arrive upstream intact.

A WebSocket upgrade on any path is an OpenAI-Realtime-shaped echo: it opens with a
``session.created`` event (carrying the handshake it saw: path, query, headers, subprotocols),
answers ``response.create`` with ``response.created`` / ``response.text.delta`` (several) /
``response.done`` (with usage), any other text message with ``{"type": "mock.echo", "received":
…}``, echoes binary frames, and closes with ``code``/``reason`` on ``{"type": "mock.close"}``.
``x-mock-status`` (or ``?mock_status=``) refuses the upgrade with that status.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

__all__ = ["MockProvider", "create_mock_app", "start_mock"]



@dataclass
class MockProvider:
    """Behaviour shared by every route; ``latency_ms`` is added before each answer."""

    latency_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    chunks: int = 8
    record: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)


_WORDS = (
    "the gateway logs every call caches answers limits rates retries failures prices tokens and "
    "lets an operator watch judge and improve the traffic between applications and providers"
).split()


def _answer(prompt: str, n_words: int = 24) -> str:
    seed = hashlib.blake2b(prompt.encode(), digest_size=8).digest()
    return " ".join(_WORDS[(seed[i % 8] + i * 7) % len(_WORDS)] for i in range(n_words)).capitalize() + "."


def _count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def _prompt_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(c.get("text", "")) for c in content if isinstance(c, dict))
    for content in body.get("contents") or []:
        for part in (content or {}).get("parts") or []:
            parts.append(str(part.get("text", "")))
    for key in ("prompt", "input", "system"):
        if isinstance(body.get(key), str):
            parts.append(body[key])
        elif isinstance(body.get(key), list):
            parts.extend(str(x) for x in body[key])
    return " ".join(parts)


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + (data if isinstance(data, bytes) else orjson.dumps(data)) + b"\n\n"


def _chunks(text: str, n: int) -> list[str]:
    words = text.split(" ")
    size = max(1, len(words) // max(1, n))
    return [" ".join(words[i : i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)]


class _Routes:
    def __init__(self, mock: MockProvider) -> None:
        self.mock = mock

    async def _read_request(self, request: web.Request) -> tuple[Any, bytes]:
        raw = await request.read()
        if self.mock.record:
            self.mock.requests.append(
                {"method": request.method, "path": request.path, "query": request.query_string,
                 "headers": dict(request.headers), "body": raw}  # fmt: skip
            )
        delay = float(request.headers.get("x-mock-delay-ms", self.mock.latency_ms))
        if delay:
            await asyncio.sleep(delay / 1000)
        if request.headers.get("x-mock-reset") == "before":
            assert request.transport is not None
            request.transport.abort()
            raise _Reset
        status = request.headers.get("x-mock-status")
        if status:
            raise _StatusError(int(status))
        try:
            body = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            body = None
        return body, raw

    async def _stream(self, request: web.Request, pieces: list[bytes], content_type: str = "text/event-stream") -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": content_type, "cache-control": "no-cache"})
        await response.prepare(request)
        delay = float(request.headers.get("x-mock-chunk-delay-ms", self.mock.chunk_delay_ms)) / 1000
        reset_mid = request.headers.get("x-mock-reset") == "mid"
        for i, piece in enumerate(pieces):
            if reset_mid and i == len(pieces) // 2:
                assert request.transport is not None
                request.transport.abort()
                return response
            try:
                await response.write(piece)
            except ConnectionError:  # the proxy went away (its client hung up): nothing to do
                return response
            if delay:
                await asyncio.sleep(delay)
        await response.write_eof()
        return response

    # -- OpenAI ----------------------------------------------------------------------------------

    async def openai_chat(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self._read_request(request)
        if not isinstance(body, dict) or "messages" not in body:
            return _error(400, "messages is required")
        model = body.get("model", "gpt-4o-mini")
        prompt = _prompt_text(body)
        text = _answer(prompt)
        usage = {"prompt_tokens": _count_tokens(prompt), "completion_tokens": _count_tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        ident = "chatcmpl-" + hashlib.md5(prompt.encode()).hexdigest()[:20]
        if body.get("stream"):
            pieces = []
            for i, piece in enumerate(_chunks(text, self.mock.chunks)):
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                pieces.append(_sse({"id": ident, "object": "chat.completion.chunk", "created": 1, "model": model,
                                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))  # fmt: skip
            pieces.append(_sse({"id": ident, "object": "chat.completion.chunk", "created": 1, "model": model,
                                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))  # fmt: skip
            if (body.get("stream_options") or {}).get("include_usage"):
                pieces.append(_sse({"id": ident, "object": "chat.completion.chunk", "created": 1, "model": model,
                                    "choices": [], "usage": usage}))  # fmt: skip
            pieces.append(_sse(b"[DONE]"))
            return await self._stream(request, pieces)
        return _json({
            "id": ident, "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage,
        })  # fmt: skip

    async def openai_embeddings(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self._read_request(request)
        if not isinstance(body, dict) or "input" not in body:
            return _error(400, "input is required")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.01 * (i + 1)] * 8} for i in range(len(inputs))]
        tokens = sum(_count_tokens(str(x)) for x in inputs)
        return _json({"object": "list", "data": data, "model": body.get("model", "text-embedding-3-small"),
                      "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip

    # -- Anthropic -------------------------------------------------------------------------------

    async def anthropic_messages(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self._read_request(request)
        if not isinstance(body, dict) or "messages" not in body:
            return _error(400, "messages: field required", anthropic=True)
        model = body.get("model", "claude-3-5-haiku-latest")
        prompt = _prompt_text(body)
        text = _answer(prompt)
        tokens_in, tokens_out = _count_tokens(prompt), _count_tokens(text)
        ident = "msg_" + hashlib.md5(prompt.encode()).hexdigest()[:20]
        if body.get("stream"):
            message = {"id": ident, "type": "message", "role": "assistant", "model": model, "content": [],
                       "stop_reason": None, "stop_sequence": None,
                       "usage": {"input_tokens": tokens_in, "output_tokens": 1}}  # fmt: skip
            pieces = [
                _sse({"type": "message_start", "message": message}, "message_start"),
                _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                     "content_block_start"),
            ]  # fmt: skip
            for piece in _chunks(text, self.mock.chunks):
                pieces.append(_sse({"type": "content_block_delta", "index": 0,
                                    "delta": {"type": "text_delta", "text": piece}}, "content_block_delta"))  # fmt: skip
            pieces += [
                _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                      "usage": {"output_tokens": tokens_out}}, "message_delta"),
                _sse({"type": "message_stop"}, "message_stop"),
            ]  # fmt: skip
            return await self._stream(request, pieces)
        return _json({
            "id": ident, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        })  # fmt: skip

    # -- Google AI Studio ------------------------------------------------------------------------

    async def google_generate(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self._read_request(request)
        model_action = request.match_info["model_action"]
        model, _, action = model_action.partition(":")
        if not isinstance(body, dict) or "contents" not in body:
            return _error(400, "contents is required")
        prompt = _prompt_text(body)
        text = _answer(prompt)
        usage = {"promptTokenCount": _count_tokens(prompt), "candidatesTokenCount": _count_tokens(text)}
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]

        def candidate(piece: str, final: bool) -> dict[str, Any]:
            out: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
            if final:
                out["finishReason"] = "STOP"
            return out

        if action == "streamGenerateContent":
            pieces = _chunks(text, self.mock.chunks)
            events = [
                {"candidates": [candidate(p, i == len(pieces) - 1)], "modelVersion": model,
                 **({"usageMetadata": usage} if i == len(pieces) - 1 else {})}
                for i, p in enumerate(pieces)
            ]  # fmt: skip
            if request.query.get("alt") == "sse":
                return await self._stream(request, [_sse(e) for e in events])
            raw = b"[" + b",\r\n".join(orjson.dumps(e) for e in events) + b"]"
            return await self._stream(request, [raw[i : i + 64] for i in range(0, len(raw), 64)], "application/json")
        if action == "generateContent":
            return _json({"candidates": [candidate(text, True)], "usageMetadata": usage, "modelVersion": model})
        if action == "embedContent":
            return _json({"embedding": {"values": [0.1] * 8}})
        return _error(404, f"unknown action {action}")

    # -- realtime (WebSocket) --------------------------------------------------------------------

    async def realtime(self, request: web.Request) -> web.StreamResponse:
        status = request.headers.get("x-mock-status") or request.query.get("mock_status")
        if status:
            return _error(int(status), f"mock refused the upgrade with {status}")
        ws = web.WebSocketResponse(protocols=("realtime",))
        await ws.prepare(request)
        seen = {"path": request.raw_path.split("?", 1)[0], "query": request.query_string,
                "headers": {str(k): v for k, v in request.headers.items()}, "protocol": ws.ws_protocol}  # fmt: skip
        if self.mock.record:
            self.mock.requests.append({"method": "WS", "path": seen["path"], "query": seen["query"],
                                       "headers": seen["headers"], "body": b""})  # fmt: skip
        model = request.query.get("model", "gpt-4o-realtime-preview")
        await ws.send_json({"type": "session.created", "event_id": "event_mock_0",
                            "session": {"id": "sess_mock", "object": "realtime.session", "model": model},
                            "request": seen})  # fmt: skip
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data)
                continue
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                event = orjson.loads(message.data)
            except orjson.JSONDecodeError:
                event = message.data
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "mock.close":
                await ws.close(code=int(event.get("code", 1000)), message=str(event.get("reason", "")).encode())
                break
            if kind == "response.create":
                for reply in _realtime_response(event):
                    await ws.send_json(reply)
                continue
            await ws.send_json({"type": "mock.echo", "received": event})
        if self.mock.record:
            self.mock.requests.append({"method": "WS-CLOSE", "path": seen["path"], "query": seen["query"],
                                       "headers": {}, "body": b"", "close_code": ws.close_code})  # fmt: skip
        return ws

    # -- everything else -------------------------------------------------------------------------

    async def echo(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.realtime(request)
        body, raw = await self._read_request(request)
        return _json({
            "echo": True, "method": request.method, "path": request.raw_path.split("?", 1)[0],
            "query": request.query_string, "headers": {str(k): v for k, v in request.headers.items()},
            "body_bytes": len(raw),
        })  # fmt: skip


def _realtime_response(event: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI Realtime's answer to ``response.create``: created, text deltas, done (with usage)."""
    response = event.get("response") if isinstance(event.get("response"), dict) else {}
    prompt = str(response.get("instructions", ""))
    text = _answer(prompt, 12)
    ident = "resp_" + hashlib.md5(prompt.encode()).hexdigest()[:16]
    usage = {"total_tokens": _count_tokens(prompt) + _count_tokens(text), "input_tokens": _count_tokens(prompt),
             "output_tokens": _count_tokens(text)}  # fmt: skip
    out: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": ident, "status": "in_progress"}}]
    for piece in _chunks(text, 4):
        out.append({"type": "response.text.delta", "response_id": ident, "delta": piece})
    out.append({"type": "response.done", "response": {"id": ident, "status": "completed", "usage": usage,
                "output": [{"type": "message", "content": [{"type": "text", "text": text}]}]}})  # fmt: skip
    return out


class _Reset(Exception):
    """The connection was dropped on purpose; nothing is left to answer."""


class _StatusError(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def _error(status: int, message: str, *, anthropic: bool = False) -> web.Response:
    if anthropic:
        return _json({"type": "error", "error": {"type": "invalid_request_error", "message": message}}, status)
    return _json({"error": {"message": message, "type": "invalid_request_error", "code": None}}, status)


@web.middleware
async def _status_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except _StatusError as exc:
        return _error(exc.status, f"mock error {exc.status}")
    except _Reset:
        return web.Response(status=204)


def create_mock_app(mock: MockProvider | None = None) -> web.Application:
    """The mock provider as an aiohttp app; mount at any port, point provider bases at it."""
    mock = mock or MockProvider()
    routes = _Routes(mock)
    app = web.Application(middlewares=[_status_errors], client_max_size=64 * 1024 * 1024)
    for prefix in ("", "/v1", "/openai/v1", "/compat"):
        app.router.add_post(prefix + "/chat/completions", routes.openai_chat)
        app.router.add_post(prefix + "/embeddings", routes.openai_embeddings)
    app.router.add_post("/v1/messages", routes.anthropic_messages)
    app.router.add_get("/v1/realtime", routes.realtime)
    for version in ("v1", "v1beta"):
        app.router.add_post(f"/{version}/models/{{model_action}}", routes.google_generate)
    app.router.add_route("*", "/{tail:.*}", routes.echo)
    return app


async def start_mock(mock: MockProvider | None = None, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start the mock on ``host:port`` (0 = any free port); returns the runner and the bound port."""
    runner = web.AppRunner(create_mock_app(mock), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, runner.addresses[0][1]

