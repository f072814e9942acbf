"""Compressed upstream answers: relayed as sent, read by the gateway only within a cap.

A gzip bomb (1 GiB of zeros in about 1 MB) must reach the client as its compressed bytes, cost the
gateway about its compressed size, and still leave a log row that says the body went unread.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Awaitable, Callable

import aiohttp
import orjson
import pytest
from aiohttp import web

from proxy_core.config import ProviderSettings
from proxy_core.runner import RunningGateway
from proxy_core.server import FORWARDER
from tests.conftest import GatewayFactory
from tests.integration.helpers import serving, stored_body, stored_logs
from tests.integration.test_guardrails_proxy import KeywordEvaluator, set_policy, use_evaluator
from tests.integration.test_headless_process import CLI, ROOT, _env

BOMB_DECODED = 1 << 30
CAP = 10 * 1024 * 1024  # settings.logs.max_stored_body_bytes, the default
UNREAD = f"body_unread: gzip body decodes to over {CAP} bytes"
ANSWER = {
    "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi " * 200}}],
    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
}  # fmt: skip
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """gzip of 1 GiB of zeros, compressed as a stream, about 1 MB: a 4 MiB block of zeros ends with
    a full flush, after which the compressor starts afresh, so every further block compresses to
    the same bytes and is compressed only once."""
    block_in = bytes(4 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = comp.compress(block_in) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(block_in) + comp.flush(zlib.Z_FULL_FLUSH) == block
    crc = 0
    for _ in range(BOMB_DECODED // len(block_in)):
        crc = zlib.crc32(block_in, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    body = header + block * (BOMB_DECODED // len(block_in)) + comp.flush() + struct.pack("<II", crc, 0)
    assert len(body) < 1 << 20  # small enough to be answered with a Content-Length and read whole
    return body


def gzip_answer(status: int, body: bytes, *, chunked: bool = False) -> Handler:
    """Answers ``body`` (already gzip) with ``Content-Encoding: gzip`` when the client accepts it."""

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return web.json_response({"error": "this test upstream only speaks gzip"}, status=406)
        if not chunked:
            return web.Response(status=status, body=body, headers=headers)
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        for start in range(0, len(body), 64 << 10):
            await response.write(body[start : start + (64 << 10)])
        await response.write_eof()
        return response

    return handle


async def post(gateway_url: str, accept: str | None = "gzip", **headers: str) -> tuple[int, dict[str, str], bytes]:
    """POST a chat request as a client that does not decode (it sees the bytes on the wire)."""
    if accept is not None:
        headers["Accept-Encoding"] = accept
    async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("Accept-Encoding",)) as session:
        async with session.post(f"{gateway_url}/openai/chat/completions", json=CHAT, headers=headers) as resp:
            return resp.status, dict(resp.headers), await resp.read()


async def openai_gateway(factory: GatewayFactory, base_url: str, **sections) -> RunningGateway:
    return await factory(providers={"openai": ProviderSettings(base_url=base_url)}, **sections)


async def test_gzip_answer_passes_untouched_and_the_log_has_its_usage(gateway_factory: GatewayFactory) -> None:
    compressed = gzip.compress(orjson.dumps(ANSWER))
    seen: list[str | None] = []
    answer = gzip_answer(200, compressed)

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("accept-encoding"))
        return await answer(request)

    async with serving(handle) as base:
        gateway = await openai_gateway(gateway_factory, base)
        status, headers, body = await post(gateway.gateway_url, "gzip;q=1.0, br;q=0.5")
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert body == compressed  # the provider's bytes, not recompressed
        status, _, _ = await post(gateway.gateway_url, accept=None)
        assert status == 406  # no Accept-Encoding from the client: none from the gateway either
    assert seen == ["gzip;q=1.0, br;q=0.5", None]
    log = (await stored_logs(gateway))[0]
    assert (log["tokens_in"], log["tokens_out"], log["model"]) == (11, 7, "gpt-4o-mini")
    assert log["success"] and not log["body_truncated"] and log["error"] is None
    assert log["response_size"] == len(compressed)
    stored = await stored_body(gateway, log["id"])
    assert stored is not None and orjson.loads(stored["response_body"]) == ANSWER  # decoded for the console


async def test_cached_gzip_answer_is_replayed_decoded(gateway_factory: GatewayFactory) -> None:
    compressed = gzip.compress(orjson.dumps(ANSWER))
    async with serving(gzip_answer(200, compressed)) as base:
        gateway = await openai_gateway(gateway_factory, base)
        first = await post(gateway.gateway_url, **{"cf-aig-cache-ttl": "60"})
        await gateway.app[FORWARDER].drain()
        second = await post(gateway.gateway_url, **{"cf-aig-cache-ttl": "60"})
    assert first[0] == 200 and first[1]["cf-aig-cache-status"] == "MISS" and first[2] == compressed
    assert second[1]["cf-aig-cache-status"] == "HIT"
    assert "Content-Encoding" not in second[1] and orjson.loads(second[2]) == ANSWER


async def test_a_coding_the_gateway_cannot_decode_still_reaches_the_client(gateway_factory: GatewayFactory) -> None:
    brotli_ish = bytes(range(256)) * 8  # br: no decoder installed, so the gateway never reads it

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.Response(body=brotli_ish, headers={"content-type": "application/json", "content-encoding": "br"})

    async with serving(handle) as base:
        gateway = await openai_gateway(gateway_factory, base)
        status, headers, body = await post(gateway.gateway_url, "br")
    assert status == 200 and headers["Content-Encoding"] == "br" and body == brotli_ish
    [log] = await stored_logs(gateway)
    assert log["success"] and log["body_truncated"]
    assert log["error"] == "body_unread: content-encoding 'br' is not decoded by the gateway"


async def test_compat_endpoint_decodes_what_it_translates(gateway_factory: GatewayFactory) -> None:
    seen: list[str | None] = []
    answer = gzip_answer(200, gzip.compress(orjson.dumps(ANSWER)))

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("accept-encoding"))
        return await answer(request)

    async with serving(handle) as base:
        gateway = await openai_gateway(gateway_factory, base)
        async with aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("Accept-Encoding",)) as session:
            async with session.post(
                f"{gateway.gateway_url}/compat/chat/completions", json={**CHAT, "model": "openai/gpt-4o-mini"},
                headers={"authorization": "Bearer sk-test", "accept-encoding": "br"},
            ) as resp:  # fmt: skip
                assert resp.status == 200 and "Content-Encoding" not in resp.headers
                translated = orjson.loads(await resp.read())
    assert seen == ["gzip, deflate"]  # the gateway reads (and translates) this answer: its own choice
    assert translated["usage"]["prompt_tokens"] == 11
    [log] = await stored_logs(gateway)
    assert (log["tokens_in"], log["tokens_out"]) == (11, 7)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_gzip_bomb_reaches_the_client_compressed_and_is_logged_unread(
    gateway_factory: GatewayFactory, bomb: bytes, chunked: bool
) -> None:
    async with serving(gzip_answer(200, bomb, chunked=chunked)) as base:
        gateway = await openai_gateway(gateway_factory, base)
        status, headers, body = await post(gateway.gateway_url, **{"cf-aig-cache-ttl": "60"})
        assert status == 200 and headers["Content-Encoding"] == "gzip" and body == bomb
        again = await post(gateway.gateway_url, **{"cf-aig-cache-ttl": "60"})
        assert again[1]["cf-aig-cache-status"] == "MISS"  # an unread body is never cached
    logs = await stored_logs(gateway)
    assert len(logs) == 2  # both rows kept: nothing near the log queue's byte limit
    log = logs[0]
    assert log["success"] and log["status_code"] == 200
    assert log["body_truncated"] and log["tokens_in"] is None
    assert log["error"] == UNREAD
    assert log["response_size"] == len(bomb)
    stored = await stored_body(gateway, log["id"])
    assert stored is not None and stored["response_body"] is None


async def test_gzip_bomb_as_a_retried_500_is_read_within_the_cap(gateway_factory: GatewayFactory, bomb: bytes) -> None:
    calls = 0
    answer = gzip_answer(500, bomb)

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        return await answer(request)

    async with serving(handle) as base:
        gateway = await openai_gateway(gateway_factory, base)
        status, headers, body = await post(gateway.gateway_url, **{"cf-aig-max-attempts": "3"})
    assert calls == 3
    assert status == 500 and headers["Content-Encoding"] == "gzip" and body == bomb
    logs = await stored_logs(gateway)
    assert len(logs) == 3
    for log in logs:
        assert log["status_code"] == 500 and log["body_truncated"]
        assert log["error"] == f"upstream answered 500; {UNREAD}"


async def test_gzip_sse_stream_passes_untouched_with_usage_logged(gateway_factory: GatewayFactory) -> None:
    events = [
        {"id": "s", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"content": f"w{i} "}}]}
        for i in range(20)
    ] + [{"id": "s", "object": "chat.completion.chunk", "model": "gpt-4o-mini", "choices": [],
          "usage": {"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25}}]  # fmt: skip
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    pieces = [comp.compress(b"data: " + orjson.dumps(e) + b"\n\n") + comp.flush(zlib.Z_SYNC_FLUSH) for e in events]
    pieces.append(comp.compress(b"data: [DONE]\n\n") + comp.flush())
    wire = b"".join(pieces)

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "content-encoding": "gzip"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    async with serving(handle) as base:
        gateway = await openai_gateway(gateway_factory, base)
        status, headers, body = await post(gateway.gateway_url)
    assert status == 200 and headers["Content-Encoding"] == "gzip" and body == wire
    assert gzip.decompress(body).endswith(b"data: [DONE]\n\n")
    [log] = await stored_logs(gateway)
    assert log["streamed"] and log["success"] and log["error"] is None
    assert (log["tokens_in"], log["tokens_out"]) == (5, 20)


@pytest.mark.parametrize("action", ["flag", "block"])
async def test_response_guardrail_on_a_bomb_fails_like_an_unavailable_evaluator(
    gateway_factory: GatewayFactory, bomb: bytes, action: str
) -> None:
    seen: list[str] = []
    answer = gzip_answer(200, bomb)

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers["accept-encoding"])
        return await answer(request)

    async with serving(handle) as base:
        gateway = await openai_gateway(gateway_factory, base)
        evaluator = KeywordEvaluator()
        use_evaluator(gateway, evaluator)
        await set_policy(gateway, {}, {"S1": action})
        status, headers, body = await post(gateway.gateway_url, "br, gzip")
    assert seen == ["gzip"]  # a judged answer may only come in a coding the gateway decodes
    [log] = await stored_logs(gateway)
    assert [stage for stage, _ in evaluator.seen if stage == "response"] == []  # never decoded past the cap
    assert log["guardrails"]["evaluated"] is False and UNREAD in log["guardrails"]["error"]
    if action == "flag":
        assert status == 200 and body == bomb and log["guardrails"]["action"] == "passed"
    else:  # fail closed, as when the evaluator cannot answer
        assert status == 400 and orjson.loads(body)["error"][0]["code"] == 2017
        assert log["guardrails"]["action"] == "blocked"


# -- memory, measured on a gateway in its own process ---------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc (Linux)")
async def test_three_bombs_at_once_keep_the_gateway_small(tmp_path: Path, bomb: bytes) -> None:
    """Three bombs at once, answered whole, streamed and as retried 500s: the gateway's peak RSS
    (the kernel's high-water mark, VmHWM) grows by far less than one decoded bomb."""
    routes = {"whole": gzip_answer(200, bomb), "chunked": gzip_answer(200, bomb, chunked=True),
              "error": gzip_answer(500, bomb), "ok": gzip_answer(200, gzip.compress(orjson.dumps(ANSWER)))}  # fmt: skip

    async def handle(request: web.Request) -> web.StreamResponse:
        return await routes[request.headers["x-route"]](request)

    async with serving(handle) as base:
        config = tmp_path / "aigw.toml"
        config.write_text(f'[providers.openai]\nbase_url = "{base}"\n')
        proc = await asyncio.create_subprocess_exec(
            *CLI, "--headless", "--quiet", "--port", "0", "--config", str(config),
            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            match = re.search(r"listening on (http://\S+)", line)
            assert match, line
            url = match.group(1)
            for _ in range(3):  # warm up: imports, the store, the first connections
                assert (await post(url, **{"x-route": "ok"}))[0] == 200
            baseline = _status_kib(proc.pid, "VmHWM")
            for route in ("whole", "chunked", "error"):
                answers = await asyncio.gather(
                    *(post(url, **{"x-route": route, "cf-aig-max-attempts": "3"}) for _ in range(3))
                )
                assert all(body == bomb for _, _, body in answers), route
            peak = _status_kib(proc.pid, "VmHWM")
            held = _status_kib(proc.pid, "VmRSS")
        finally:
            proc.terminate()
            out, err = await asyncio.wait_for(proc.communicate(), 60)
    growth_mib = (peak - baseline) / 1024
    print(f"\ngateway VmHWM baseline {baseline / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB, "
          f"after {held / 1024:.0f} MiB", file=sys.stderr)  # fmt: skip
    assert proc.returncode == 0, err.decode()
    assert growth_mib < 70, f"peak RSS grew by {growth_mib:.0f} MiB (baseline {baseline / 1024:.0f} MiB)"
    assert "logs written=18 dropped=0" in line + out.decode()  # 3 + 3 + 3 + 3 × 3 attempts, none dropped
