"""Every gateway-made error is a JSON body with a stable code, and none loses its log."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from yarl import URL

from proxy_core.config import ProviderSettings
from proxy_core.errors import ErrorCode
from tests.conftest import GatewayFactory, Upstream
from tests.integration.helpers import only_log, stored_logs

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def call(url: str | URL, *, method: str = "POST", **kwargs) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None), dict(resp.headers)


def error_code(body: dict) -> int:
    assert body["success"] is False
    return body["error"][0]["code"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/local/nope/openai/chat/completions", 404, ErrorCode.UNKNOWN_GATEWAY),
        ("/v1/other-account/default/openai/chat/completions", 404, ErrorCode.UNKNOWN_ACCOUNT),
        ("/v1/local/default/not-a-provider/chat/completions", 404, ErrorCode.UNKNOWN_PROVIDER),
        ("/nothing/here", 404, ErrorCode.NOT_FOUND),
    ],
)
async def test_unknown_things_are_json_404s(gateway_factory: GatewayFactory, path: str, status: int, code: int) -> None:
    gateway = await gateway_factory()
    got_status, body, _ = await call(gateway.base_url + path, json=CHAT)
    assert (got_status, error_code(body)) == (status, code)
    assert body["error"][0]["message"]


@pytest.mark.parametrize(
    "raw_tail",
    [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/secret",
        "/%252e%252e/secret",
        "/a%2fb",
        "/a%252fb",
        "/a%5cb",
        "/a%00b",
        "/a%0d%0aHost:%20evil",
    ],
)
async def test_path_tricks_are_rejected_and_never_forwarded(
    gateway_factory: GatewayFactory, upstream: Upstream, raw_tail: str
) -> None:
    gateway = await gateway_factory()
    status, body, headers = await call(URL(f"{gateway.gateway_url}/openai{raw_tail}", encoded=True), json=CHAT)
    assert status == 400 and error_code(body) == ErrorCode.INVALID_PATH
    assert upstream.requests == []
    assert "cf-aig-log-id" in headers
    log = await only_log(gateway)
    assert log["error_code"] == ErrorCode.INVALID_PATH and not log["success"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("cf-aig-metadata", "{not json"),
        ("cf-aig-metadata", '{"nested": {"a": 1}}'),
        ("cf-aig-metadata", '["a"]'),
        ("cf-aig-collect-log", "maybe"),
        ("cf-aig-custom-cost", '{"per_token_in": "cheap"}'),
    ],
)
async def test_bad_header_values_name_the_header(
    gateway_factory: GatewayFactory, upstream: Upstream, header: str, value: str
) -> None:
    gateway = await gateway_factory()
    status, body, _ = await call(f"{gateway.gateway_url}/openai/chat/completions", json=CHAT, headers={header: value})
    assert status == 400 and error_code(body) == ErrorCode.BAD_HEADER
    assert header in body["error"][0]["message"]
    assert upstream.requests == []
    assert (await only_log(gateway))["status_code"] == 400


async def test_oversize_body_is_refused_before_it_is_read(gateway_factory: GatewayFactory, upstream: Upstream) -> None:
    gateway = await gateway_factory(server={"max_body_bytes": 1024})
    status, body, _ = await call(f"{gateway.gateway_url}/openai/chat/completions", data=b"x" * 4096)
    assert status == 413 and error_code(body) == ErrorCode.BODY_TOO_LARGE
    assert upstream.requests == []
    assert (await only_log(gateway))["status_code"] == 413


async def test_oversize_chunked_body_is_refused(gateway_factory: GatewayFactory, upstream: Upstream) -> None:
    gateway = await gateway_factory(server={"max_body_bytes": 1024})

    async def chunks():
        for _ in range(8):
            yield b"y" * 512

    status, body, _ = await call(f"{gateway.gateway_url}/openai/chat/completions", data=chunks())
    assert status == 413 and error_code(body) == ErrorCode.BODY_TOO_LARGE
    assert upstream.requests == []


async def test_malformed_json_is_forwarded_and_the_provider_error_logged(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    status, body, _ = await call(
        f"{gateway.gateway_url}/openai/chat/completions", data=b"{nope", headers={"content-type": "application/json"}
    )
    assert status == 400 and body["error"]["message"] == "messages is required"
    log = await only_log(gateway)
    assert log["status_code"] == 400 and not log["success"] and log["model"] is None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_upstream_is_a_502(gateway_factory: GatewayFactory) -> None:
    port = _closed_port()
    gateway = await gateway_factory(providers={"openai": ProviderSettings(base_url=f"http://127.0.0.1:{port}/v1")})
    status, body, headers = await call(f"{gateway.gateway_url}/openai/chat/completions", json=CHAT)
    assert status == 502 and error_code(body) == ErrorCode.UPSTREAM_UNREACHABLE
    log = await only_log(gateway)
    assert log["id"] == headers["cf-aig-log-id"]
    assert log["error_code"] == ErrorCode.UPSTREAM_UNREACHABLE


async def test_upstream_timeout_is_a_504(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory(server={"upstream_timeout": 0.2})
    status, body, _ = await call(
        f"{gateway.gateway_url}/openai/chat/completions", json=CHAT, headers={"x-mock-delay-ms": "2000"}
    )
    assert status == 504 and error_code(body) == ErrorCode.UPSTREAM_TIMEOUT
    assert (await only_log(gateway))["error_code"] == ErrorCode.UPSTREAM_TIMEOUT


async def test_upstream_reset_before_answering_is_a_502(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    status, body, _ = await call(
        f"{gateway.gateway_url}/openai/chat/completions", json=CHAT, headers={"x-mock-reset": "before"}
    )
    assert status == 502 and error_code(body) == ErrorCode.UPSTREAM_UNREACHABLE
    assert (await only_log(gateway))["status_code"] == 502


async def test_upstream_reset_mid_stream_is_logged_as_a_failure(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    body = {**CHAT, "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway.gateway_url}/openai/chat/completions", json=body, headers={"x-mock-reset": "mid"}
        ) as resp:
            assert resp.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()
    log = await only_log(gateway)
    assert not log["success"] and log["error_code"] == ErrorCode.UPSTREAM_UNREACHABLE
    assert "stream broke" in log["error"]


async def test_client_hanging_up_mid_stream_is_logged(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    body = {**CHAT, "stream": True}
    async with aiohttp.ClientSession() as session:
        resp = await session.post(
            f"{gateway.gateway_url}/openai/chat/completions", json=body, headers={"x-mock-chunk-delay-ms": "100"}
        )
        await resp.content.readuntil(b"\n\n")
        resp.close()
    logs = await _wait_for_logs(gateway, 1)
    assert logs[0]["error_code"] == ErrorCode.CLIENT_DISCONNECTED


async def _wait_for_logs(gateway, count: int) -> list[dict]:
    import asyncio

    for _ in range(100):
        logs = await stored_logs(gateway)
        if len(logs) >= count:
            return logs
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} logs")


async def test_a_client_trickling_headers_is_cut_off(gateway_factory: GatewayFactory) -> None:
    import asyncio

    gateway = await gateway_factory(server={"idle_timeout": 0.5})
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(b"POST /v1/local/default/openai/chat/completions HTTP/1.1\r\nHost: x\r\n")
    await writer.drain()
    for _ in range(30):  # one header byte every 0.1 s: never a complete request
        try:
            writer.write(b"X")
            await writer.drain()
        except ConnectionError:
            break
        if reader.at_eof():
            break
        await asyncio.sleep(0.1)
    closed = await asyncio.wait_for(reader.read(), timeout=5)
    assert closed == b"" or b"408" in closed or b"400" in closed
    assert reader.at_eof()
    writer.close()
