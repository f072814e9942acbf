"""The realtime WebSockets API's URLs as the reference writes them (``wss://…/{provider}?…``, no
path) reach each provider's realtime endpoint: a real gateway on loopback against the mock, whose
WebSocket echo reports the path and query it was reached on (issue 14, bug 6)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from proxy_core.config import ProviderSettings
from proxy_core.runner import RunningGateway
from proxy_core.server import SERVICES
from proxy_core.services import Actor
from tests.conftest import GatewayFactory, Upstream
from tests.integration.helpers import stored_body, stored_logs

ADMIN = Actor("test", "API")
GEMINI_LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
OPENAI_MODEL = "gpt-4o-realtime-preview-2024-12-17"


@pytest.fixture
async def realtime(gateway_factory: GatewayFactory, upstream: Upstream) -> tuple[RunningGateway, str]:
    """A gateway with authentication on and all four realtime providers pointed at the mock (the
    mock serves OpenAI under ``/v1``, as the real base ``api.openai.com/v1``); and a gateway token."""
    providers = {
        "openai": ProviderSettings(base_url=f"{upstream.url}/v1"),
        "google-ai-studio": ProviderSettings(base_url=upstream.url),
        "cartesia": ProviderSettings(base_url=upstream.url),
        "elevenlabs": ProviderSettings(base_url=upstream.url),
    }
    gateway = await gateway_factory(providers)
    token = (await gateway.app[SERVICES].tokens.create("default", ADMIN, name="rt")).secret
    await gateway.app[SERVICES].gateways.update("default", {"authentication": True}, ADMIN)
    return gateway, token


def ws_url(gateway: RunningGateway, tail: str) -> str:
    return gateway.gateway_url.replace("http://", "ws://") + tail


async def first_frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def session_log(gateway: RunningGateway) -> dict[str, Any]:
    """The one stored log (a realtime session is logged just after it closes)."""
    for _ in range(100):
        logs = await stored_logs(gateway)
        if logs:
            break
        await asyncio.sleep(0.05)
    assert len(logs) == 1, logs
    return logs[0]


async def connect(
    gateway: RunningGateway, tail: str, *, headers: dict[str, str] | None = None, protocols: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Open ``tail`` as a client of the reference would, read the mock's greeting, close; the
    request the mock saw (path, query, headers, chosen subprotocol)."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url(gateway, tail), headers=headers, protocols=protocols) as ws:
            hello = await first_frame(ws)
            assert hello["type"] == "session.created"
            await ws.send_json({"type": "ping"})
            assert (await first_frame(ws))["type"] == "mock.echo"
    return hello["request"]


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


async def test_openai_form_reaches_v1_realtime(realtime: tuple[RunningGateway, str]) -> None:
    gateway, token = realtime
    headers = {"cf-aig-authorization": f"Bearer {token}", "Authorization": "Bearer sk-openai-secret", "OpenAI-Beta": "realtime=v1"}
    seen = await connect(gateway, f"/openai?model={OPENAI_MODEL}", headers=headers)
    assert (seen["path"], seen["query"]) == ("/v1/realtime", f"model={OPENAI_MODEL}")
    sent = lowered(seen["headers"])
    assert sent["authorization"] == "Bearer sk-openai-secret" and sent["openai-beta"] == "realtime=v1"
    assert not any(k.startswith("cf-aig-") for k in sent)
    log = await session_log(gateway)
    assert (log["provider"], log["request_type"], log["status_code"]) == ("openai", "realtime", 101)
    assert log["path"] == f"/realtime?model={OPENAI_MODEL}"


async def test_google_form_reaches_gemini_live(realtime: tuple[RunningGateway, str]) -> None:
    gateway, token = realtime
    seen = await connect(gateway, "/google?api_key=AIza-google-secret", protocols=(f"cf-aig-authorization.{token}",))
    assert (seen["path"], seen["query"]) == (GEMINI_LIVE, "api_key=AIza-google-secret")
    assert "sec-websocket-protocol" not in lowered(seen["headers"])  # the gateway token stays here
    log = await session_log(gateway)
    assert (log["provider"], log["status_code"]) == ("google-ai-studio", 101)
    assert log["path"] == GEMINI_LIVE + "?api_key=[REDACTED]"
    body = await stored_body(gateway, log["id"])
    assert body is not None
    for stored in (repr(log), repr(body)):
        assert "AIza-google-secret" not in stored and token not in stored


async def test_cartesia_form_reaches_tts_websocket(realtime: tuple[RunningGateway, str]) -> None:
    gateway, token = realtime
    tail = "/cartesia?cartesia_version=2024-06-10&api_key=sk_car_secret"
    seen = await connect(gateway, tail, protocols=(f"cf-aig-authorization.{token}",))
    assert (seen["path"], seen["query"]) == ("/tts/websocket", "cartesia_version=2024-06-10&api_key=sk_car_secret")
    log = await session_log(gateway)
    assert (log["provider"], log["status_code"]) == ("cartesia", 101)
    assert log["path"] == "/tts/websocket?cartesia_version=2024-06-10&api_key=[REDACTED]"


async def test_elevenlabs_form_reaches_convai_conversation(realtime: tuple[RunningGateway, str]) -> None:
    gateway, token = realtime
    protocols = ("xi-api-key.xi-secret", f"cf-aig-authorization.{token}")
    seen = await connect(gateway, "/elevenlabs?agent_id=agent_123", protocols=protocols)
    assert (seen["path"], seen["query"]) == ("/v1/convai/conversation", "agent_id=agent_123")
    assert lowered(seen["headers"])["xi-api-key"] == "xi-secret"
    log = await session_log(gateway)
    assert (log["provider"], log["status_code"]) == ("elevenlabs", 101)
    assert log["path"] == "/v1/convai/conversation?agent_id=agent_123"


@pytest.mark.parametrize(
    ("tail", "path", "query"),
    [
        ("/openai/realtime?model=gpt-4o-realtime-preview", "/v1/realtime", "model=gpt-4o-realtime-preview"),
        (f"/openai/?model={OPENAI_MODEL}", "/v1/realtime", f"model={OPENAI_MODEL}"),
        (f"/google-ai-studio{GEMINI_LIVE}?key=k1", GEMINI_LIVE, "key=k1"),
        ("/google-ai-studio?key=k1", GEMINI_LIVE, "key=k1"),
        ("/cartesia/tts/websocket?cartesia_version=2024-06-10", "/tts/websocket", "cartesia_version=2024-06-10"),
        ("/elevenlabs/v1/text-to-speech/v1d/stream-input?model_id=m", "/v1/text-to-speech/v1d/stream-input",
         "model_id=m"),
    ],
)  # fmt: skip
async def test_explicit_paths_keep_working(realtime: tuple[RunningGateway, str], tail: str, path: str, query: str) -> None:
    gateway, token = realtime
    seen = await connect(gateway, tail, headers={"cf-aig-authorization": f"Bearer {token}"})
    assert (seen["path"], seen["query"]) == (path, query)


async def test_collect_log_off_stores_no_row(realtime: tuple[RunningGateway, str], upstream: Upstream) -> None:
    gateway, token = realtime
    auth = {"cf-aig-authorization": f"Bearer {token}"}
    await connect(gateway, f"/openai?model={OPENAI_MODEL}", headers={**auth, "cf-aig-collect-log": "false"})
    await gateway.app[SERVICES].gateways.update("default", {"collect_logs": False}, ADMIN)
    await connect(gateway, "/elevenlabs?agent_id=off", headers=auth)
    await gateway.app[SERVICES].gateways.update("default", {"collect_logs": True}, ADMIN)
    for _ in range(100):  # both sessions over at the mock before the control one starts
        if sum(r["method"] == "WS-CLOSE" for r in upstream.requests) == 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    # the control session, collected: the only row there is once it is logged
    await connect(gateway, "/cartesia?cartesia_version=2024-06-10", headers=auth)
    log = await session_log(gateway)
    assert log["provider"] == "cartesia"
    assert [r["path"] for r in upstream.requests if r["method"] == "WS"] == [
        "/v1/realtime", "/v1/convai/conversation", "/tts/websocket"]  # fmt: skip
