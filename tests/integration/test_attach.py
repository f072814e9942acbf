"""The console's two gateway links: attached to a gateway in another process (the event stream)
and in-process (a gateway on its own thread): the live tail, feedback, and changes made through the
console's service layer taking effect on the gateway's next request, the same through both (the
process-level test that a second ``aigw-console`` attaches is in ``test_console_process.py``)."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest

from console.attach import AttachedLink, AttachError, events_url
from console.link import GatewayLink
from proxy_core.live_feed import FeedCursor
from proxy_core.runner import RunningGateway
from proxy_core.runner import start_gateway
from proxy_core.runtime_file import RUNTIME_FILE_NAME, RuntimeInfo
from tests.conftest import Upstream, make_settings, mock_providers
from tests.integration.console_links import ADMIN, OPERATOR, Linked, gw, linked, runtime_of

__all__ = ["gw", "linked"]  # fixtures, shared with test_console_links.py

async def chat(gateway: RunningGateway, model: str = "gpt-4o-mini", **headers: str) -> aiohttp.ClientResponse:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body, headers=headers) as r:
            await r.read()
            return r


async def next_event(link: GatewayLink, predicate, cursor: FeedCursor = FeedCursor()) -> dict:  # noqa: ANN001
    """The first log or edit in the link's feed after ``cursor`` that ``predicate`` accepts (waits
    for it: polls the feed as the console does, until a generous hang guard)."""
    for _ in range(6000):
        frame = link.feed.take(cursor, 10_000)
        for event in frame.rows + frame.updates:
            if predicate(event):
                return event
        cursor = frame.cursor
        await asyncio.sleep(0.02)
    raise AssertionError("no such event in the feed")


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
        await AttachedLink(runtime_of(gw), "wrong").connect()


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
        await AttachedLink(gone, ADMIN).connect()


async def test_the_console_receives_the_live_tail(linked: Linked) -> None:
    response = await chat(linked.gateway, model="tail-canary")
    event = await next_event(linked.link, lambda e: e.get("model") == "tail-canary")
    assert event["id"] == response.headers["cf-aig-log-id"]
    assert event["status_code"] == 200 and event["gateway_id"] == "default"
    assert "request_body" not in event and "request_headers" not in event  # the tail never carries bodies
    assert linked.link.feed.snapshot(event["created_at"]).requests == 1  # the counters took it too


async def test_feedback_from_the_console_is_stored_and_seen_in_the_feed(linked: Linked) -> None:
    log_id = (await chat(linked.gateway)).headers["cf-aig-log-id"]
    await linked.flush()
    cursor = linked.link.feed.cursor
    await linked.services.logs.annotate("default", log_id, feedback=1)
    update = await next_event(linked.link, lambda e: e.get("event") == "log_updated", cursor)
    assert update["id"] == log_id and update["feedback"] == 1
    assert (await linked.services.logs.get("default", log_id)).feedback == 1


async def test_settings_changed_by_the_console_apply_to_the_next_request(linked: Linked) -> None:
    services, gw = linked.services, linked.gateway
    await services.gateways.update("default", {"authentication": True}, OPERATOR)
    # No waiting for the gateway's polling: the link asked it to re-read its settings, and it did.
    assert (await chat(gw)).status == 401
    token = await services.tokens.create("default", OPERATOR, name="app")
    assert (await chat(gw, **{"cf-aig-authorization": f"Bearer {token.secret}"})).status == 200
    await services.tokens.revoke("default", token.info.id, OPERATOR)
    assert (await chat(gw, **{"cf-aig-authorization": f"Bearer {token.secret}"})).status == 401


async def test_a_settings_change_by_the_console_invalidates_the_gateways_cache(linked: Linked) -> None:
    services, gw = linked.services, linked.gateway
    await services.gateways.update("default", {"cache_ttl": 300, "cache_invalidate_on_update": True}, OPERATOR)
    assert (await chat(gw)).headers["cf-aig-cache-status"] == "MISS"
    assert (await chat(gw)).headers["cf-aig-cache-status"] == "HIT"
    await services.gateways.update("default", {"rate_limiting_limit": 1000, "rate_limiting_interval": 60}, OPERATOR)
    assert (await chat(gw)).headers["cf-aig-cache-status"] == "MISS"


async def test_the_console_learns_the_gateways_evaluator_and_log_pipeline(linked: Linked) -> None:
    assert await linked.link.evaluator_status() == ("builtin", "healthy")
    await chat(linked.gateway)
    await linked.flush()
    assert (await linked.link.log_health()).written == 1


async def test_the_console_hears_when_the_gateway_goes_away_and_comes_back(upstream: Upstream, tmp_path) -> None:  # noqa: ANN001
    gateway = await start_gateway(make_settings(tmp_path / "gone", mock_providers(upstream), api={"admin_token": ADMIN}))
    states: list[tuple[str, bool]] = []
    reachability: list[int | None] = []
    changed = asyncio.Event()

    def reached(since_ms: int | None) -> None:
        reachability.append(since_ms)
        changed.set()

    link = AttachedLink(runtime_of(gateway), ADMIN, on_state=lambda m, good: states.append((m, good)),
                        on_reachability=reached, clock=lambda: 1_764_300_000_000)  # fmt: skip
    await link.connect()
    restarted: RunningGateway | None = None
    try:
        assert link.unreachable_since_ms is None
        await gateway.stop()  # the gateway process stops serving
        await asyncio.wait_for(changed.wait(), 10)
        assert reachability == [1_764_300_000_000] and link.unreachable_since_ms == 1_764_300_000_000
        assert states[0] == ("Lost the gateway's live tail; reconnecting…", False)
        assert not link.connected
        changed.clear()
        settings = gateway.settings
        restarted = await start_gateway(
            dataclasses.replace(settings, server=dataclasses.replace(settings.server, port=gateway.port))
        )
        await asyncio.wait_for(changed.wait(), 15)  # the link retries with backoff (at most 4 s apart)
        assert reachability == [1_764_300_000_000, None] and link.unreachable_since_ms is None
        assert link.connected
    finally:
        await link.close()
        if restarted is not None:
            await restarted.stop()


async def test_an_attached_console_is_told_when_its_tail_skipped_events(gw: RunningGateway) -> None:
    said: list[tuple[str, bool]] = []
    link = AttachedLink(runtime_of(gw), ADMIN, on_state=lambda m, good: said.append((m, good)))
    link._dispatch({"type": "events", "events": [{"id": "a"}], "dropped": 0})
    link._dispatch({"type": "events", "events": [{"id": "b"}], "dropped": 5})
    link._dispatch({"type": "events", "events": [], "dropped": 9})  # within the notice interval
    assert [e["id"] for e in link.feed.take(FeedCursor(), 10).rows] == ["a", "b"]
    assert said == [("The live tail fell behind: the gateway skipped 5 events for this console", False)]
    assert link.dropped == 9
