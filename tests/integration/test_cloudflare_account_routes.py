"""Cloudflare's ``ai_gateway.urls.get`` and ``audit_logs.list`` through the official SDK, called as
its documentation writes them, and the log list's ``result_info`` ranges (issue 14)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest
from cloudflare import BadRequestError, Cloudflare, NotFoundError

from proxy_core.client import AsyncAIGateway
from proxy_core.runner import RunningGateway
from proxy_core.server import PIPE, SERVICES
from proxy_core.services import Actor
from tests.conftest import GatewayFactory
from tests.integration.test_api import ADMIN, Api
from tests.integration.test_cloudflare_sdk import sdk


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


def sync_sdk(gateway: RunningGateway) -> Cloudflare:
    return Cloudflare(api_token=ADMIN, base_url=gateway.api_url, max_retries=0)


# -- urls.get ------------------------------------------------------------------------------------


async def test_urls_get_as_the_sdk_documents_it(gw: RunningGateway) -> None:
    client = sync_sdk(gw)

    def documented_call() -> str:
        return client.ai_gateway.urls.get(provider="workers-ai", account_id="local", gateway_id="default")

    assert await asyncio.to_thread(documented_call) == f"{gw.base_url}/v1/local/default/workers-ai"


async def test_urls_get_answers_a_url_that_serves_and_refuses_what_it_cannot(gw: RunningGateway) -> None:
    cf = sdk(gw)
    url = await cf.ai_gateway.urls.get("openai", account_id="local", gateway_id="default")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/chat/completions", json=body) as resp:
            assert resp.status == 200 and resp.headers["cf-aig-log-id"]
    with pytest.raises(NotFoundError):
        await cf.ai_gateway.urls.get("openai", account_id="local", gateway_id="nosuch")
    with pytest.raises(BadRequestError, match="provider"):
        await cf.ai_gateway.urls.get("open ai!", account_id="local", gateway_id="default")


# -- audit_logs.list -----------------------------------------------------------------------------


async def test_audit_logs_list_as_the_sdk_documents_it(gw: RunningGateway) -> None:
    await sdk(gw).ai_gateway.create(
        account_id="local", id="test", cache_invalidate_on_update=False, cache_ttl=0, collect_logs=True,
        rate_limiting_interval=0, rate_limiting_limit=0, rate_limiting_technique="fixed",
    )  # fmt: skip
    client = sync_sdk(gw)

    def documented_call():  # the SDK's own example, page.result[0]
        page = client.audit_logs.list(account_id="local")
        return page.result[0]

    entry = await asyncio.to_thread(documented_call)
    assert entry.action.type == "create" and entry.action.result is True
    assert entry.actor.id == "admin-token" and entry.actor.ip == "127.0.0.1" and entry.actor.type == "user"
    assert entry.interface == "API" and entry.owner.id == "local"
    assert entry.resource.type == "ai_gateway.gateway" and entry.resource.id == "test"
    assert entry.when is not None and entry.when.utcoffset() == timedelta(0)
    raw = entry.to_dict()
    assert raw["newValueJson"]["rate_limiting_technique"] == "fixed" and raw["oldValueJson"] == {}


async def test_audit_logs_filters(gw: RunningGateway) -> None:
    cf = sdk(gw)
    await cf.ai_gateway.create(
        account_id="local", id="team-a", cache_invalidate_on_update=False, cache_ttl=300, collect_logs=True,
        rate_limiting_interval=60, rate_limiting_limit=10,
    )  # fmt: skip
    await cf.ai_gateway.update(
        "team-a", account_id="local", cache_invalidate_on_update=False, cache_ttl=600, collect_logs=True,
        rate_limiting_interval=60, rate_limiting_limit=10,
    )  # fmt: skip
    await gw.app[SERVICES].gateways.update("team-a", {"collect_logs": False}, Actor("operator", "console"))

    async def listed(**params) -> list:
        return [entry async for entry in cf.audit_logs.list(account_id="local", **params)]

    everything = await listed()
    assert [(e.action.type, e.interface, e.actor.id, e.actor.ip) for e in everything] == [
        ("update", "console", "operator", None),
        ("update", "API", "admin-token", "127.0.0.1"),
        ("create", "API", "admin-token", "127.0.0.1"),
    ]
    assert [e.id for e in await listed(direction="asc")] == [e.id for e in reversed(everything)]
    assert [e.id for e in await listed(per_page=1)] == [e.id for e in everything]  # the SDK pages through
    assert [e.interface for e in await listed(actor={"ip": "127.0.0.0/8"})] == ["API", "API"]
    assert [e.interface for e in await listed(actor={"ip": "127.0.0.1"})] == ["API", "API"]
    assert await listed(actor={"ip": "10.0.0.0/8"}) == []
    assert [e.action.type for e in await listed(action={"type": "create"})] == ["create"]
    assert [e.id for e in await listed(id=everything[1].id)] == [everything[1].id]
    created_at = everything[-1].when
    assert [e.id for e in await listed(before=created_at + timedelta(milliseconds=1))] == [everything[-1].id]
    assert len(await listed(since=created_at)) == 3
    # Things this gateway never records select nothing, as on Cloudflare.
    assert await listed(actor={"email": "someone@example.com"}) == []
    assert await listed(zone={"name": "example.com"}) == []
    assert await listed(hide_user_logs=True) == []
    with pytest.raises(BadRequestError, match="actor.ip"):
        await listed(actor={"ip": "not-an-address"})
    with pytest.raises(BadRequestError, match="export"):
        await listed(export=True)


# -- result_info of a log list -------------------------------------------------------------------


async def test_log_list_result_info_has_the_references_ranges(gw: RunningGateway) -> None:
    async with AsyncAIGateway(gw.base_url) as client:
        for user, prompt in (("alice", "hi"), ("bob", "a much longer question with many more words in it")):
            step = {"provider": "openai", "endpoint": "chat/completions", "headers": {"authorization": "Bearer sk"},
                    "query": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}}  # fmt: skip
            await (await client.run(step, headers={"cf-aig-metadata": f'{{"user": "{user}"}}'})).read()
    await gw.app[PIPE].flush()
    api = Api(gw)
    status, payload = await api.call("GET", "/gateways/default/logs", per_page=1)
    logs = await api.ok("GET", "/gateways/default/logs")
    info = payload["result_info"]
    assert status == 200 and (info["page"], info["per_page"], info["count"], info["total_count"]) == (1, 1, 1, 2)
    for field in ("cost", "duration", "tokens_in", "tokens_out"):
        values = [log[field] for log in logs]
        assert (info[f"min_{field}"], info[f"max_{field}"]) == (min(values), max(values)), field
    assert info["min_tokens_in"] < info["max_tokens_in"]
    totals = [log["tokens_in"] + log["tokens_out"] for log in logs]
    assert (info["min_total_tokens"], info["max_total_tokens"]) == (min(totals), max(totals))

    filters = '[{"key": "metadata.value", "operator": "eq", "value": ["bob"]}]'
    _, only_bob = await api.call("GET", "/gateways/default/logs", filters=filters)
    bob = only_bob["result"][0]
    assert only_bob["result_info"]["total_count"] == 1
    assert only_bob["result_info"]["min_duration"] == only_bob["result_info"]["max_duration"] == bob["duration"]

    groq_only = '[{"key": "provider", "operator": "eq", "value": ["groq"]}]'
    _, nothing = await api.call("GET", "/gateways/default/logs", filters=groq_only)
    assert nothing["result_info"]["total_count"] == 0 and nothing["result_info"]["max_cost"] is None
