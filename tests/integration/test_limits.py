"""Body limits: an oversize request is refused with 413 in the JSON envelope, never a 500, and a
``Content-Length`` over the limit is refused before any of the body is read (the client here sends
headers claiming 100 MB and then nothing: the answer must still come)."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import aiohttp
import orjson
import pytest

from proxy_core.errors import ErrorCode
from proxy_core.runner import RunningGateway
from tests.conftest import GatewayFactory, Upstream

ADMIN = "test-admin-token"
HUNDRED_MB = 100 * 1024 * 1024
GATEWAYS = "/client/v4/accounts/local/ai-gateway/gateways"
HANG_GUARD_S = 30
"""Only so a regression fails instead of hanging the suite; nothing is timed."""


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


async def raw_head_only(
    gateway: RunningGateway, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], dict]:
    """Send only a request head (no body follows) and read the answer off the socket."""
    reader, writer = await asyncio.open_connection(gateway.settings.server.host, gateway.port)
    try:
        async with asyncio.timeout(HANG_GUARD_S):
            lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{gateway.port}"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            got: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                got[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(got["content-length"]))
    finally:
        writer.close()
    return status, got, orjson.loads(body)


async def test_api_refuses_a_declared_oversize_body_before_reading_it(gw: RunningGateway) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)}
    status, got, body = await raw_head_only(gw, "POST", GATEWAYS, headers)
    assert status == 413
    assert got["connection"].lower() == "close"  # the unread body must not be read as a next request
    assert body["success"] is False and body["result"] is None
    assert body["errors"][0]["code"] == ErrorCode.BODY_TOO_LARGE == 2004
    assert str(gw.settings.server.max_body_bytes) in body["errors"][0]["message"]


async def test_api_answers_401_first_without_reading_either(gw: RunningGateway) -> None:
    status, _, body = await raw_head_only(gw, "POST", GATEWAYS, {"Content-Length": str(HUNDRED_MB)})
    assert status == 401 and body["errors"][0]["code"] == 10000


async def _api_post(gateway: RunningGateway, data: object) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway.base_url}{GATEWAYS}", data=data,
            headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
        ) as resp:  # fmt: skip
            return resp.status, await resp.json(content_type=None)


async def test_api_refuses_an_oversize_body_with_413_not_500(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory(api={"admin_token": ADMIN}, server={"max_body_bytes": 1024})
    status, body = await _api_post(gateway, orjson.dumps({"id": "big", "padding": "x" * 4096}))
    assert status == 413 and body["errors"][0]["code"] == 2004
    status, _ = await _api_post(gateway, orjson.dumps({"id": "small"}))
    assert status == 200  # a body within the limit is still served


async def test_api_refuses_a_chunked_body_that_outgrows_the_limit(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory(api={"admin_token": ADMIN}, server={"max_body_bytes": 1024})

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"id": "chunked", "padding": "'
        for _ in range(8):
            yield b"y" * 512
        yield b'"}'

    status, body = await _api_post(gateway, chunks())
    assert status == 413 and body["success"] is False and body["errors"][0]["code"] == 2004


@pytest.mark.parametrize(
    "path",
    ["/v1/local/default/openai/chat/completions", "/v1/local/default", "/v1/local/default/compat/chat/completions"],
)
async def test_proxy_refuses_a_declared_oversize_body_before_reading_it(
    gateway_factory: GatewayFactory, upstream: Upstream, path: str
) -> None:
    gateway = await gateway_factory()
    status, got, body = await raw_head_only(
        gateway, "POST", path, {"Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)}
    )
    assert status == 413 and body["error"][0]["code"] == ErrorCode.BODY_TOO_LARGE
    assert "cf-aig-log-id" in got
    assert upstream.requests == []
