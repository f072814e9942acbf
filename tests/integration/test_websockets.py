"""The WebSockets APIs through a real gateway on loopback: non-realtime (``universal.create``
served by the universal endpoint) and realtime (a passthrough to the mock's realtime echo)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from proxy_core.config import ProviderSettings
from proxy_core.errors import ErrorCode
from proxy_core.runner import RunningGateway
from proxy_core.server import FORWARDER, PIPE, SERVICES
from proxy_core.services import Actor
from tests.conftest import GatewayFactory, Upstream, mock_providers
from tests.integration.helpers import stored_body, stored_logs

ADMIN = Actor("test", "API")
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "tell me a joke"}]}
UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip


def ws_url(gateway: RunningGateway, tail: str = "") -> str:
    return gateway.gateway_url.replace("http://", "ws://") + tail


def create(event_id: str | None = None, query: Any = CHAT, **step: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"provider": "openai", "endpoint": "chat/completions",
                               "headers": {"Authorization": "Bearer sk-test", "Content-Type": "application/json"},
                               "query": query}  # fmt: skip
    if event_id is not None:
        request["eventId"] = event_id
    request.update(step)
    return {"type": "universal.create", "request": request}


async def recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def settled_logs(gateway: RunningGateway, count: int) -> list[dict[str, Any]]:
    """The stored logs once there are ``count`` (a realtime session is logged just after it closes)."""
    for _ in range(100):
        logs = await stored_logs(gateway)
        if len(logs) >= count:
            return logs
        await asyncio.sleep(0.05)
    return await stored_logs(gateway)


async def configure(gateway: RunningGateway, **settings: Any) -> None:
    await gateway.app[SERVICES].gateways.update("default", settings, ADMIN)


# -- non-realtime ----------------------------------------------------------------------------------


async def test_json_answer_carries_metadata_and_matches_its_log(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_json(create("my-request"))
        answer = await recv(ws)
    assert answer["type"] == "universal.created"
    meta = answer["metadata"]
    assert meta["cacheStatus"] == "MISS" and meta["eventId"] == "my-request" and meta["step"] == "0"
    assert meta["contentType"].startswith("application/json")
    assert answer["response"]["object"] == "chat.completion"
    [log] = await stored_logs(gateway)
    assert log["id"] == meta["logId"]
    assert (log["request_type"], log["event_id"], log["provider"], log["status_code"]) == (
        "websocket", "my-request", "openai", 200)  # fmt: skip
    assert log["tokens_in"] and log["cost"] is not None


async def test_trailing_slash_and_plain_get(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url(gateway, "/")) as ws:
            await ws.send_json(create("slash"))
            assert (await recv(ws))["type"] == "universal.created"
        async with session.get(gateway.gateway_url) as resp:
            assert resp.status == 404 and "WebSocket" in (await resp.json())["error"][0]["message"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(gateway.gateway_url.replace("/default", "/nope"))
        assert refused.value.status == 404


async def test_streamed_answer_is_created_stream_done(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_json(create("whole"))
        whole = await recv(ws)
        await ws.send_json(create("streamed", {**CHAT, "stream": True}))
        messages = [await recv(ws)]
        while messages[-1]["type"] != "universal.done":
            messages.append(await recv(ws))
    created, chunks, done = messages[0], messages[1:-1], messages[-1]
    assert created["type"] == "universal.created" and "response" not in created
    assert created["metadata"]["contentType"].startswith("text/event-stream")
    assert done["metadata"] == created["metadata"] and done["metadata"]["eventId"] == "streamed"
    assert chunks and all(c["type"] == "universal.stream" and c["metadata"] == {"eventId": "streamed"} for c in chunks)
    text = "".join(c["response"]["choices"][0]["delta"].get("content", "") for c in chunks if c["response"]["choices"])
    assert text == whole["response"]["choices"][0]["message"]["content"]
    logs = await stored_logs(gateway)
    assert logs[-1]["id"] == done["metadata"]["logId"] and logs[-1]["streamed"]


async def test_requests_need_no_connection_of_their_own(gateway_factory: GatewayFactory) -> None:
    """A message is forwarded on the request path itself, not through a call back into the gateway:
    one pooled upstream connection is all a socket's requests need, even several at once."""
    gateway = await gateway_factory(server={"upstream_connection_limit": 1})
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        for n in range(3):
            await ws.send_json(create(f"e{n}"))
        answers = [await recv(ws) for _ in range(3)]
    assert sorted(a["metadata"]["eventId"] for a in answers) == ["e0", "e1", "e2"]
    assert {a["type"] for a in answers} == {"universal.created"}
    logs = await stored_logs(gateway)
    assert [log["request_type"] for log in logs] == ["websocket"] * 3
    assert {log["id"] for log in logs} == {a["metadata"]["logId"] for a in answers}


async def test_concurrent_requests_on_one_socket(gateway: RunningGateway) -> None:
    slow = create("slow")
    slow["request"]["headers"]["x-mock-delay-ms"] = "400"
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_json(slow)
        await ws.send_json(create("fast"))
        first, second = await recv(ws), await recv(ws)
    # not one after the other: the request sent second (no delay) is answered before the first (400 ms)
    assert [first["metadata"]["eventId"], second["metadata"]["eventId"]] == ["fast", "slow"]
    assert first["metadata"]["logId"] != second["metadata"]["logId"]


async def test_fallback_array_reports_the_answering_step(gateway: RunningGateway) -> None:
    failing = create()["request"]
    failing["headers"] = {**failing["headers"], "x-mock-status": "500"}
    message = {"type": "universal.create", "request": [{**failing, "eventId": "fb"}, create()["request"]]}
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_json(message)
        answer = await recv(ws)
    assert answer["type"] == "universal.created" and answer["metadata"]["step"] == "1"
    assert answer["metadata"]["eventId"] == "fb"
    logs = await stored_logs(gateway)
    assert [(log["step"], log["status_code"], log["request_type"]) for log in logs] == [
        (0, 500, "websocket"), (1, 200, "websocket")]  # fmt: skip


async def test_second_identical_request_is_a_cache_hit(gateway: RunningGateway, upstream: Upstream) -> None:
    await configure(gateway, cache_ttl=300)
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_json(create("one"))
        first = await recv(ws)
        await gateway.app[FORWARDER].drain()
        await ws.send_json(create("two"))
        second = await recv(ws)
    assert first["metadata"]["cacheStatus"] == "MISS" and second["metadata"]["cacheStatus"] == "HIT"
    assert first["response"] == second["response"] and len(upstream.requests) == 1


async def test_bad_messages_get_errors_and_the_socket_stays_usable(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_str("{nope")
        bad_json = await recv(ws)
        await ws.send_json({"type": "universal.delete", "request": {"eventId": "x"}})
        unknown = await recv(ws)
        await ws.send_json({"type": "universal.create", "request": {"eventId": "np", "endpoint": "chat/completions"}})
        no_provider = await recv(ws)
        await ws.send_json({"type": "universal.create"})
        no_request = await recv(ws)
        await ws.send_bytes(b"\x00\x01")
        binary = await recv(ws)
        upstream_error = create("ue")
        upstream_error["request"]["headers"]["x-mock-status"] = "503"
        await ws.send_json(upstream_error)
        provider_error = await recv(ws)
        await ws.send_json(create("after"))
        after = await recv(ws)
    assert bad_json["type"] == "error" and bad_json["error"]["code"] == ErrorCode.MALFORMED_JSON
    assert unknown["error"]["code"] == ErrorCode.BAD_REQUEST and "universal.delete" in unknown["error"]["message"]
    assert unknown["metadata"]["eventId"] == "x"
    assert no_provider["error"]["code"] == ErrorCode.BAD_REQUEST and "provider" in no_provider["error"]["message"]
    assert no_provider["metadata"]["eventId"] == "np" and no_provider["metadata"]["status"] == 400
    assert no_provider["metadata"]["logId"]  # the gateway logged the refusal like any other
    assert no_request["error"]["code"] == ErrorCode.BAD_REQUEST
    assert binary["type"] == "error"
    assert provider_error["type"] == "error" and provider_error["metadata"]["status"] == 503
    assert provider_error["error"]["code"] == 503 and provider_error["response"]["error"]["message"]
    assert after["type"] == "universal.created" and after["metadata"]["eventId"] == "after"


async def test_rate_limit_applies_per_message(gateway: RunningGateway) -> None:
    await configure(gateway, rate_limiting_limit=1, rate_limiting_interval=60, rate_limiting_technique="fixed")
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        await ws.send_json(create("a"))
        ok = await recv(ws)
        await ws.send_json(create("b"))
        limited = await recv(ws)
    assert ok["type"] == "universal.created"
    assert limited["type"] == "error" and limited["error"]["code"] == ErrorCode.RATE_LIMITED
    assert limited["metadata"]["status"] == 429 and limited["metadata"]["eventId"] == "b"


async def test_authenticated_gateway_handshake(gateway: RunningGateway) -> None:
    token = (await gateway.app[SERVICES].tokens.create("default", ADMIN, name="ws")).secret
    await configure(gateway, authentication=True)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws_url(gateway))
        assert refused.value.status == 401
        async with session.get(gateway.gateway_url, headers=UPGRADE) as resp:
            body = await resp.json()
            assert resp.status == 401 and body["error"][0]["code"] == ErrorCode.UNAUTHORIZED
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(ws_url(gateway), protocols=("cf-aig-authorization.aigw_nope_x",))
        headers = {"cf-aig-authorization": f"Bearer {token}"}
        async with session.ws_connect(ws_url(gateway), headers=headers) as ws:
            await ws.send_json(create("by-header"))
            assert (await recv(ws))["type"] == "universal.created"
        protocol = f"cf-aig-authorization.{token}"
        async with session.ws_connect(ws_url(gateway), protocols=(protocol,)) as ws:
            assert ws.protocol == protocol  # echoed back, as browsers require
            await ws.send_json(create("by-protocol"))
            assert (await recv(ws))["type"] == "universal.created"
            # a token revoked mid-connection stops working at the next request
            tokens = await gateway.app[SERVICES].tokens.list("default")
            await gateway.app[SERVICES].tokens.revoke("default", tokens[0].id, ADMIN)
            await ws.send_json(create("revoked"))
            revoked = await recv(ws)
            assert revoked["type"] == "error" and revoked["error"]["code"] == ErrorCode.UNAUTHORIZED
    logs = await stored_logs(gateway)
    assert [log["event_id"] for log in logs] == ["by-header", "by-protocol"]


async def test_too_many_in_flight_are_refused(gateway: RunningGateway) -> None:
    from proxy_core.ws.universal import MAX_IN_FLIGHT

    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway)) as ws:
        for i in range(MAX_IN_FLIGHT + 1):
            message = create(f"e{i}")
            message["request"]["headers"]["x-mock-delay-ms"] = "300"
            await ws.send_json(message)
        answers = [await recv(ws) for _ in range(MAX_IN_FLIGHT + 1)]
    refused = [a for a in answers if a["type"] == "error"]
    assert len(refused) == 1 and refused[0]["metadata"]["eventId"] == f"e{MAX_IN_FLIGHT}"
    assert refused[0]["error"]["code"] == ErrorCode.RATE_LIMITED


# -- realtime --------------------------------------------------------------------------------------

REALTIME = "/openai/realtime?model=gpt-4o-realtime-preview"
OPENAI_HEADERS = {"Authorization": "Bearer sk-test", "OpenAI-Beta": "realtime=v1"}


async def test_realtime_text_and_binary_both_ways_and_one_log(gateway: RunningGateway, upstream: Upstream) -> None:
    headers = {**OPENAI_HEADERS, "cf-aig-metadata": '{"user": "alice"}', "cf-aig-event-id": "rt-1"}
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url(gateway, REALTIME), headers=headers) as ws:
        hello = await recv(ws)
        assert hello["type"] == "session.created" and hello["session"]["model"] == "gpt-4o-realtime-preview"
        seen = hello["request"]
        assert seen["path"] == "/v1/realtime" and seen["query"] == "model=gpt-4o-realtime-preview"
        sent = {k.lower(): v for k, v in seen["headers"].items()}
        assert sent["authorization"] == "Bearer sk-test" and sent["openai-beta"] == "realtime=v1"
        assert not any(k.startswith("cf-aig-") for k in sent)
        await ws.send_json({"type": "response.create", "response": {"modalities": ["text"], "instructions": "joke"}})
        events = [await recv(ws)]
        while events[-1]["type"] != "response.done":
            events.append(await recv(ws))
        assert events[0]["type"] == "response.created"
        assert any(e["type"] == "response.text.delta" for e in events)
        await ws.send_bytes(b"\x00pcm\xff" * 100)
        echoed = await ws.receive(timeout=5)
        assert echoed.type is aiohttp.WSMsgType.BINARY and echoed.data == b"\x00pcm\xff" * 100
        await ws.send_str("plain text")
        assert (await recv(ws)) == {"type": "mock.echo", "received": "plain text"}
    logs = await settled_logs(gateway, 1)
    assert len(logs) == 1
    log = logs[0]
    assert (log["request_type"], log["provider"], log["status_code"], log["success"]) == ("realtime", "openai", 101, True)
    assert log["path"] == "/realtime?model=gpt-4o-realtime-preview" and log["event_id"] == "rt-1"
    assert log["metadata"] == {"user": "alice"} and log["ttfb"] is not None
    body = await stored_body(gateway, log["id"])
    assert body is not None
    assert b"response.create" in body["request_body"] and b"[binary 500 bytes]" in body["request_body"]
    assert b"response.done" in body["response_body"] and b"session.created" in body["response_body"]
    assert body["request_headers"]["authorization"] == "[REDACTED]"
    assert body["response_headers"]["upgrade"].lower() == "websocket"  # the provider's 101, as it answered


async def test_realtime_close_propagates_both_ways(gateway: RunningGateway, upstream: Upstream) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(ws_url(gateway, REALTIME), headers=OPENAI_HEADERS) as ws:
            await recv(ws)
            await ws.send_json({"type": "mock.close", "code": 4001, "reason": "bye now"})
            closing = await ws.receive(timeout=5)
            assert closing.type is aiohttp.WSMsgType.CLOSE and (closing.data, closing.extra) == (4001, "bye now")
        async with session.ws_connect(ws_url(gateway, REALTIME), headers=OPENAI_HEADERS) as ws:
            await recv(ws)
            await ws.close(code=4002, message=b"client done")
        for _ in range(50):  # the mock records the close it saw once its loop ends
            if sum(r["method"] == "WS-CLOSE" for r in upstream.requests) == 2:
                break
            await asyncio.sleep(0.05)
    closes = [r["close_code"] for r in upstream.requests if r["method"] == "WS-CLOSE"]
    assert closes[-1] == 4002
    logs = await settled_logs(gateway, 2)
    assert len(logs) == 2 and all(log["request_type"] == "realtime" for log in logs)
    assert "provider closed the session with 4001: bye now" == logs[0]["error"]
    assert logs[1]["error"] == "client closed the session with 4002: client done"


async def test_realtime_unsupported_provider_is_400_before_upgrade(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.gateway_url}/anthropic/v1/messages", headers=UPGRADE) as resp:
            body = await resp.json()
        assert resp.status == 400 and body["error"][0]["code"] == ErrorCode.BAD_REQUEST
        assert "realtime" in body["error"][0]["message"] and "openai" in body["error"][0]["message"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws_url(gateway, "/groq/realtime"))
        assert refused.value.status == 400
    logs = await stored_logs(gateway)
    assert [(log["request_type"], log["status_code"]) for log in logs] == [("realtime", 400), ("realtime", 400)]


async def test_realtime_upstream_refusal_is_a_clear_error_and_a_log(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {**OPENAI_HEADERS, **UPGRADE, "x-mock-status": "403"}
        async with session.get(f"{gateway.gateway_url}{REALTIME}", headers=headers) as resp:
            body = await resp.json()
            log_id = resp.headers["cf-aig-log-id"]
    assert resp.status == 403
    assert body["error"][0]["code"] == ErrorCode.UPSTREAM_UNREACHABLE
    assert "refused the WebSocket upgrade: HTTP 403" in body["error"][0]["message"]
    [log] = await stored_logs(gateway)
    assert (log["id"], log["request_type"], log["status_code"], log["success"]) == (log_id, "realtime", 403, False)


async def test_realtime_unreachable_provider_is_502(gateway_factory: GatewayFactory, upstream: Upstream) -> None:
    providers = {**mock_providers(upstream), "cartesia": ProviderSettings(base_url="http://127.0.0.1:9")}
    gateway = await gateway_factory(providers)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws_url(gateway, "/cartesia/tts/websocket?cartesia_version=2024-06-10"))
    assert refused.value.status == 502
    [log] = await stored_logs(gateway)
    assert (log["provider"], log["status_code"], log["request_type"]) == ("cartesia", 502, "realtime")


async def test_realtime_browser_auth_by_subprotocol(gateway_factory: GatewayFactory, upstream: Upstream) -> None:
    providers = {**mock_providers(upstream), "elevenlabs": ProviderSettings(base_url=upstream.url)}
    gateway = await gateway_factory(providers)
    token = (await gateway.app[SERVICES].tokens.create("default", ADMIN, name="browser")).secret
    await configure(gateway, authentication=True)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws_url(gateway, REALTIME))
        assert refused.value.status == 401
        protocols = ("realtime", f"cf-aig-authorization.{token}")
        async with session.ws_connect(ws_url(gateway, REALTIME), protocols=protocols) as ws:
            assert ws.protocol == "realtime"  # the provider's choice
            seen = (await recv(ws))["request"]
            assert seen["protocol"] == "realtime"
            assert token not in orjson.dumps(seen).decode()
        protocols = ("xi-api-key.xi-secret", f"cf-aig-authorization.{token}")
        url = ws_url(gateway, "/elevenlabs/v1/convai/conversation?agent_id=a1")
        async with session.ws_connect(url, protocols=protocols) as ws:
            assert ws.protocol == protocols[1]
            seen = (await recv(ws))["request"]
            assert seen["path"] == "/v1/convai/conversation" and seen["headers"]["xi-api-key"] == "xi-secret"
    logs = await settled_logs(gateway, 2)
    assert [log["provider"] for log in logs] == ["openai", "elevenlabs"]
    body = await stored_body(gateway, logs[0]["id"])
    assert body is not None and token not in orjson.dumps(body["request_headers"]).decode()


async def test_stopping_gateway_closes_open_sockets(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    async with aiohttp.ClientSession() as session:
        realtime = await session.ws_connect(ws_url(gateway, REALTIME), headers=OPENAI_HEADERS)
        universal = await session.ws_connect(ws_url(gateway))
        await recv(realtime)
        await gateway.stop()
        for ws in (realtime, universal):  # closed by the gateway ("going away"), not left to time out
            msg = await ws.receive(timeout=5)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001)  # "going away"
            await ws.close()
    assert gateway.app[PIPE].written == 1  # the realtime session's log made it before the store closed
