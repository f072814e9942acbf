"""Attaching a console to a running gateway: the event stream, and changes made through an attached
service layer taking effect on the gateway's next request (the process-level test that a second
``aigw-console`` attaches is in ``test_console_process.py``)."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import aiohttp
import orjson
import pytest

from console.attach import AttachError, GatewayLink, events_url
from proxy_core.events import EventBus
from proxy_core.runner import RunningGateway
from proxy_core.server import PIPE, SERVICES
from proxy_core.runtime_file import RUNTIME_FILE_NAME, RuntimeInfo
from proxy_core.services import Actor, Services
from proxy_core.store.engine import open_store
from tests.conftest import GatewayFactory

ADMIN = "attach-admin-token"
OPERATOR = Actor("operator", "console")


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


def runtime_of(gateway: RunningGateway) -> RuntimeInfo:
    """What the gateway wrote for attachers (``read_runtime`` ignores this very process)."""
    raw = orjson.loads((gateway.settings.data_dir / RUNTIME_FILE_NAME).read_bytes())
    return RuntimeInfo(**raw)


@pytest.fixture
async def attached(gw: RunningGateway) -> AsyncIterator[tuple[GatewayLink, Services, EventBus]]:
    """A console's side: its own store connection and service layer, and the link."""
    bus = EventBus()
    link = GatewayLink(runtime_of(gw), ADMIN, bus)
    await link.connect()
    store = await open_store(gw.settings.store_url)
    services = Services(store, account_id="local", directory=link, bus=bus, on_logs_deleted=link.changed)
    yield link, services, bus
    await link.close()
    await store.close()


async def chat(gateway: RunningGateway, model: str = "gpt-4o-mini", **headers: str) -> aiohttp.ClientResponse:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body, headers=headers) as r:
            await r.read()
            return r


async def next_event(subscription, predicate, timeout: float = 10.0) -> dict:  # noqa: ANN001
    async def wait() -> dict:
        while True:
            event = await subscription.get()
            if predicate(event):
                return event

    return await asyncio.wait_for(wait(), timeout)


def test_the_runtime_file_says_where_the_gateway_listens(gw: RunningGateway) -> None:
    info = runtime_of(gw)
    assert info.base_url == gw.base_url and info.account_id == "local"
    assert (gw.settings.data_dir / RUNTIME_FILE_NAME).stat().st_mode & 0o777 == 0o600


async def test_the_event_stream_needs_the_admin_token(gw: RunningGateway) -> None:
    url = events_url(runtime_of(gw))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url, headers={"authorization": "Bearer wrong"})
    with pytest.raises(AttachError, match="refused the admin token"):
        await GatewayLink(runtime_of(gw), "wrong", EventBus()).connect()


async def test_a_plain_get_on_the_event_stream_is_a_json_error(gw: RunningGateway) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{gw.api_url}/accounts/local/ai-gateway/events"
        async with session.get(url, headers={"authorization": f"Bearer {ADMIN}"}) as resp:
            assert resp.status == 400
            assert "WebSocket" in (await resp.json())["errors"][0]["message"]


async def test_an_unreachable_gateway_is_a_readable_attach_error(gw: RunningGateway) -> None:
    info = runtime_of(gw)
    gone = RuntimeInfo(info.pid, "http://127.0.0.1:9", info.account_id, info.started_at, info.headless)
    with pytest.raises(AttachError, match="cannot reach the gateway at http://127.0.0.1:9"):
        await GatewayLink(gone, ADMIN, EventBus()).connect()


async def test_the_attached_console_receives_the_live_tail(attached, gw: RunningGateway) -> None:  # noqa: ANN001
    link, services, bus = attached
    with bus.subscribe() as tail:
        response = await chat(gw, model="tail-canary")
        event = await next_event(tail, lambda e: e.get("model") == "tail-canary")
    assert event["id"] == response.headers["cf-aig-log-id"]
    assert event["status_code"] == 200 and event["gateway_id"] == "default"
    assert "request_body" not in event and "request_headers" not in event  # the tail never carries bodies


async def test_feedback_from_the_attached_console_is_stored_and_seen_locally(attached, gw: RunningGateway) -> None:  # noqa: ANN001
    link, services, bus = attached
    log_id = (await chat(gw)).headers["cf-aig-log-id"]
    await gw.app[PIPE].flush()
    with bus.subscribe() as tail:
        await services.logs.annotate("default", log_id, feedback=1)
        update = await next_event(tail, lambda e: e.get("event") == "log_updated")
    assert update["id"] == log_id and update["feedback"] == 1
    assert (await gw.app[SERVICES].logs.get("default", log_id)).feedback == 1


async def test_settings_changed_while_attached_apply_to_the_next_request(attached, gw: RunningGateway) -> None:  # noqa: ANN001
    link, services, bus = attached
    await services.gateways.update("default", {"authentication": True}, OPERATOR)
    # No waiting for the gateway's polling: the link asked it to re-read its settings, and it did.
    assert (await chat(gw)).status == 401
    token = await services.tokens.create("default", OPERATOR, name="app")
    assert (await chat(gw, **{"cf-aig-authorization": f"Bearer {token.secret}"})).status == 200
    await services.tokens.revoke("default", token.info.id, OPERATOR)
    assert (await chat(gw, **{"cf-aig-authorization": f"Bearer {token.secret}"})).status == 401


async def test_an_attached_settings_change_invalidates_the_gateways_cache(attached, gw: RunningGateway) -> None:  # noqa: ANN001
    link, services, bus = attached
    await services.gateways.update("default", {"cache_ttl": 300, "cache_invalidate_on_update": True}, OPERATOR)
    assert (await chat(gw)).headers["cf-aig-cache-status"] == "MISS"
    assert (await chat(gw)).headers["cf-aig-cache-status"] == "HIT"
    await services.gateways.update("default", {"rate_limiting_limit": 1000, "rate_limiting_interval": 60}, OPERATOR)
    assert (await chat(gw)).headers["cf-aig-cache-status"] == "MISS"


async def test_the_console_hears_when_the_gateway_goes_away(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory(api={"admin_token": ADMIN})
    states: list[tuple[str, bool]] = []
    link = GatewayLink(runtime_of(gateway), ADMIN, EventBus(), on_state=lambda m, good: states.append((m, good)))
    await link.connect()
    try:
        await gateway.runner.cleanup()  # the gateway process stops serving
        for _ in range(100):
            if states:
                break
            await asyncio.sleep(0.05)
        assert states[0] == ("Lost the gateway's live tail; reconnecting…", False)
        assert not link.connected
    finally:
        await link.close()


async def test_the_attached_console_learns_the_gateways_evaluator(attached) -> None:  # noqa: ANN001
    link, services, bus = attached
    name, health = await link.evaluator_status()
    assert (name, health) == ("builtin", "healthy")


async def test_an_attached_console_is_told_when_its_tail_skipped_events(gw: RunningGateway) -> None:
    said: list[tuple[str, bool]] = []
    bus = EventBus()
    link = GatewayLink(runtime_of(gw), ADMIN, bus, on_state=lambda m, good: said.append((m, good)))
    with bus.subscribe() as tail:
        link._dispatch({"type": "events", "events": [{"id": "a"}], "dropped": 0})
        link._dispatch({"type": "events", "events": [{"id": "b"}], "dropped": 5})
        link._dispatch({"type": "events", "events": [], "dropped": 9})  # within the notice interval
        assert [e["id"] for e in tail.drain()] == ["a", "b"]
    assert said == [("The live tail fell behind: the gateway skipped 5 events for this console", False)]
    assert link.dropped == 9
