"""``proxy_core.client``: the binding methods (getUrl, patchLog, getLog, run) against a real
gateway, sync and async, errors included.

The gateway runs on the test's event loop, so the blocking client is driven from a thread
(``asyncio.to_thread``), as an app's own thread would drive it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from proxy_core.client import (
    AIGateway,
    AsyncAIGateway,
    GatewayAPIError,
    GatewayConnectionError,
    GatewayLog,
    GatewayResponse,
)
from proxy_core.errors import ErrorCode
from proxy_core.runner import RunningGateway
from proxy_core.server import PIPE, SERVICES
from proxy_core.services import Actor
from tests.conftest import GatewayFactory
from tests.integration.test_api import ADMIN

OPERATOR = Actor("test", "API")


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


def chat_step(prompt: str = "tell me a joke", **headers: str) -> dict[str, Any]:
    """A universal request as the reference writes it, for OpenAI's chat completions."""
    return {
        "provider": "openai",
        "endpoint": "chat/completions",
        "headers": {"authorization": "Bearer sk-test", **headers},
        "query": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]},
    }


def stream_step() -> dict[str, Any]:
    step = chat_step(**{"x-mock-chunk-delay-ms": "5"})
    step["query"]["stream"] = True
    return step


async def flushed(gw: RunningGateway) -> None:
    """Logs are written after the answer; the tests wait for the writer, not for a clock."""
    await gw.app[PIPE].flush()


# -- get_url -------------------------------------------------------------------------------------


def test_get_url_is_the_reference_shape() -> None:
    client = AIGateway("http://127.0.0.1:8787/", account="local", gateway="my-gateway")
    assert client.get_url() == "http://127.0.0.1:8787/v1/local/my-gateway/"
    assert client.get_url("openai") == "http://127.0.0.1:8787/v1/local/my-gateway/openai"
    assert client.get_url("azure-openai/res/dep") == "http://127.0.0.1:8787/v1/local/my-gateway/azure-openai/res/dep"
    assert AsyncAIGateway(gateway="g").get_url("anthropic") == "http://127.0.0.1:8787/v1/local/g/anthropic"
    with pytest.raises(ValueError, match="base_url"):
        AIGateway("127.0.0.1:8787")


async def test_the_url_of_get_url_serves_a_provider_request(gw: RunningGateway) -> None:
    async with AsyncAIGateway(gw.base_url) as client:
        url = client.get_url("openai") + "/chat/completions"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=chat_step()["query"], headers={"authorization": "Bearer sk"}) as resp:
            assert resp.status == 200 and (await resp.json())["object"] == "chat.completion"


# -- sync ----------------------------------------------------------------------------------------


async def test_sync_run_get_log_and_patch_log(gw: RunningGateway) -> None:
    client = AIGateway(gw.base_url, account="local", gateway="default", token=ADMIN)

    def run_once() -> tuple[int, dict, str | None, int | None, str | None]:
        response = client.run(chat_step(), headers={"cf-aig-metadata": '{"user": "123"}'})
        assert isinstance(response, GatewayResponse)
        return response.status, response.json(), response.log_id, response.step, response.cache_status

    status, body, log_id, step, cache_status = await asyncio.to_thread(run_once)
    assert status == 200 and body["object"] == "chat.completion" and step == 0 and cache_status == "MISS"
    assert log_id
    await flushed(gw)

    log = await asyncio.to_thread(client.get_log, log_id)
    assert isinstance(log, GatewayLog)
    assert (log.id, log.provider, log.request_type, log.status_code, log.success) == (
        log_id, "openai", "universal", 200, True)  # fmt: skip
    assert log.metadata == {"user": "123"} and log.tokens_in and log.created_at.tzinfo is not None
    assert log.feedback == 0 and log.score is None

    patched = await asyncio.to_thread(
        lambda: client.patch_log(log_id, feedback=1, score=100, metadata={"user": "456", "team": "a"})
    )
    assert (patched.feedback, patched.score, patched.metadata) == (1, 100, {"user": "456", "team": "a"})
    only_score = await asyncio.to_thread(lambda: client.patch_log(log_id, score=40))
    assert (only_score.feedback, only_score.score) == (1, 40)  # what is not given keeps its value
    stored = await gw.app[SERVICES].logs.get("default", log_id)
    assert (stored.feedback, stored.score, stored.metadata) == (1, 40, {"user": "456", "team": "a"})


async def test_sync_run_with_fallbacks_reports_the_answering_step(gw: RunningGateway) -> None:
    client = AIGateway(gw.base_url)
    failing = chat_step(**{"x-mock-status": "503"})

    def run_chain() -> tuple[int, int | None, str]:
        with client.run([failing, chat_step()]) as response:
            return response.status, response.step, response.json()["object"]

    assert await asyncio.to_thread(run_chain) == (200, 1, "chat.completion")


async def test_sync_stream_line_by_line_and_in_chunks(gw: RunningGateway) -> None:
    client = AIGateway(gw.base_url)

    def read_lines() -> tuple[str, list[bytes]]:
        with client.run(stream_step()) as response:
            return response.content_type, list(response.iter_lines())

    def read_chunks() -> bytes:
        return b"".join(client.run(stream_step()))

    content_type, lines = await asyncio.to_thread(read_lines)
    data = [line for line in lines if line.startswith(b"data: ")]
    assert content_type.startswith("text/event-stream") and len(data) > 3
    assert all(line.endswith(b"\n") for line in lines) and data[-1] == b"data: [DONE]\n"
    assert b"".join(lines) == await asyncio.to_thread(read_chunks)


async def test_sync_errors_carry_the_envelope_code(gw: RunningGateway) -> None:
    client = AIGateway(gw.base_url, token=ADMIN)

    def refused(call: Any) -> GatewayAPIError:
        with pytest.raises(GatewayAPIError) as caught:
            call()
        return caught.value

    missing = await asyncio.to_thread(refused, lambda: client.get_log("01NOSUCHLOG0000000000000000"))
    assert (missing.status, missing.code) == (404, 7003) and "not found" in missing.message
    wrong_token = AIGateway(gw.base_url, token="wrong")
    denied = await asyncio.to_thread(refused, lambda: wrong_token.get_log("x"))
    assert (denied.status, denied.code) == (401, 10000)

    def bad_score() -> GatewayAPIError:
        response = client.run(chat_step())
        response.read()
        return refused(lambda: client.patch_log(response.log_id or "", score=101))

    await flushed(gw)
    invalid = await asyncio.to_thread(bad_score)
    assert (invalid.status, invalid.code) == (400, 1001) and "score" in invalid.message

    def unknown_provider() -> tuple[bool, GatewayAPIError]:
        response = client.run({"provider": "nope", "endpoint": "x", "query": {}})
        return response.ok, refused(response.raise_for_status)

    ok, unknown = await asyncio.to_thread(unknown_provider)
    assert not ok and (unknown.status, unknown.code) == (404, ErrorCode.UNKNOWN_PROVIDER)


async def test_sync_authenticated_gateway_needs_the_gateway_token(gw: RunningGateway) -> None:
    services = gw.app[SERVICES]
    created = await services.tokens.create("default", OPERATOR, name="client")
    await services.gateways.update("default", {"authentication": True}, OPERATOR)

    def status_with(gateway_token: str | None) -> tuple[int, int | None]:
        response = AIGateway(gw.base_url, gateway_token=gateway_token).run(chat_step())
        try:
            response.raise_for_status()
        except GatewayAPIError as err:
            return err.status, err.code
        return response.status, None

    assert await asyncio.to_thread(status_with, None) == (401, ErrorCode.UNAUTHORIZED)
    assert await asyncio.to_thread(status_with, created.secret) == (200, None)


async def test_sync_admin_token_from_the_environment(gw: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGW_ADMIN_TOKEN", ADMIN)
    client = AIGateway(gw.base_url)

    def code_of_get_log() -> int | None:
        with pytest.raises(GatewayAPIError) as caught:
            client.get_log("nosuch")
        return caught.value.code

    assert await asyncio.to_thread(code_of_get_log) == 7003  # authenticated (not 10000), then not found


def test_sync_unreachable_gateway_and_bad_input() -> None:
    client = AIGateway("http://127.0.0.1:9", timeout=5)
    with pytest.raises(GatewayConnectionError, match="127.0.0.1:9"):
        client.run(chat_step())
    with pytest.raises(TypeError, match="dict"):
        client.run("tell me a joke")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="step"):
        client.run([chat_step(), "second"])  # type: ignore[list-item]


# -- async ---------------------------------------------------------------------------------------


async def test_async_run_get_log_and_patch_log(gw: RunningGateway) -> None:
    async with AsyncAIGateway(gw.base_url, token=ADMIN) as client:
        response = await client.run([chat_step(**{"x-mock-status": "500"}), chat_step()])
        assert response.ok and response.step == 1 and (await response.json())["object"] == "chat.completion"
        await flushed(gw)
        log = await client.get_log(response.log_id or "")
        assert (log.step, log.status_code, log.request_type) == (1, 200, "universal")
        patched = await client.patch_log(log.id, feedback=-1, metadata={"user": "123"})
        assert (patched.feedback, patched.metadata) == (-1, {"user": "123"})
        cleared = await client.patch_log(log.id, metadata={"user": None})
        assert cleared.metadata is None and cleared.feedback == -1


async def test_async_stream_line_by_line_and_in_chunks(gw: RunningGateway) -> None:
    async with AsyncAIGateway(gw.base_url) as client:
        async with await client.run(stream_step()) as response:
            assert response.status == 200 and response.log_id
            data = [line async for line in response.iter_lines() if line.startswith(b"data: ")]
    assert len(data) > 3 and data[-1].strip() == b"data: [DONE]"
    async with AsyncAIGateway(gw.base_url) as client:
        chunks = [chunk async for chunk in await client.run(stream_step())]
    assert b"".join(chunks).rstrip().endswith(b"data: [DONE]")


async def test_async_errors_carry_the_envelope_code(gw: RunningGateway) -> None:
    async with AsyncAIGateway(gw.base_url, token=ADMIN) as client:
        with pytest.raises(GatewayAPIError) as missing:
            await client.get_log("01NOSUCHLOG0000000000000000")
        assert (missing.value.status, missing.value.code) == (404, 7003)
        with pytest.raises(GatewayAPIError) as invalid:
            await client.patch_log("whatever", feedback=2)
        assert (invalid.value.status, invalid.value.code) == (400, 1001) and "feedback" in invalid.value.message
        refused = await client.run([])
        with pytest.raises(GatewayAPIError) as bad:
            await refused.raise_for_status()
        assert (bad.value.status, bad.value.code) == (400, ErrorCode.BAD_REQUEST) and bad.value.log_id
    async with AsyncAIGateway(gw.base_url, token="wrong") as client:
        with pytest.raises(GatewayAPIError) as denied:
            await client.get_log("x")
        assert (denied.value.status, denied.value.code) == (401, 10000)
    async with AsyncAIGateway("http://127.0.0.1:9", timeout=5) as client:
        with pytest.raises(GatewayConnectionError):
            await client.run(chat_step())


async def test_async_client_with_its_callers_session_leaves_it_open(gw: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with AsyncAIGateway(gw.base_url, session=session) as client:
            response = await client.run(chat_step())
            assert (await response.json())["object"] == "chat.completion"
        assert not session.closed
