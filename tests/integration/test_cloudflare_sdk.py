"""The official ``cloudflare`` Python SDK works unchanged against the management API."""

from __future__ import annotations

import aiohttp
import pytest
from cloudflare import AsyncCloudflare, NotFoundError, AuthenticationError, BadRequestError

from proxy_core.runner import RunningGateway
from proxy_core.server import SERVICES
from tests.conftest import GatewayFactory
from tests.integration.test_api import ADMIN, send_chat


@pytest.fixture
async def gw(gateway_factory: GatewayFactory) -> RunningGateway:
    return await gateway_factory(api={"admin_token": ADMIN})


def sdk(gateway: RunningGateway, token: str = ADMIN) -> AsyncCloudflare:
    return AsyncCloudflare(api_token=token, base_url=gateway.api_url, max_retries=0)


async def test_gateways_with_the_sdk(gw: RunningGateway) -> None:
    cf = sdk(gw)
    created = await cf.ai_gateway.create(
        account_id="local", id="sdk-gw", cache_invalidate_on_update=False, cache_ttl=120, collect_logs=True,
        rate_limiting_interval=60, rate_limiting_limit=10, rate_limiting_technique="fixed",
    )  # fmt: skip
    assert created.id == "sdk-gw" and created.cache_ttl == 120
    listed = [g.id async for g in cf.ai_gateway.list(account_id="local")]
    assert listed == ["default", "sdk-gw"]
    fetched = await cf.ai_gateway.get("sdk-gw", account_id="local")
    assert fetched.rate_limiting_limit == 10 and fetched.created_at.year >= 2026
    updated = await cf.ai_gateway.update(
        "sdk-gw", account_id="local", cache_invalidate_on_update=True, cache_ttl=None, collect_logs=False,
        rate_limiting_interval=None, rate_limiting_limit=None,
    )  # fmt: skip
    assert updated.collect_logs is False and updated.cache_ttl is None
    await cf.ai_gateway.delete("sdk-gw", account_id="local")
    with pytest.raises(NotFoundError):
        await cf.ai_gateway.get("sdk-gw", account_id="local")
    with pytest.raises(AuthenticationError):
        await sdk(gw, "wrong").ai_gateway.get("default", account_id="local")
    with pytest.raises(BadRequestError):
        await cf.ai_gateway.create(
            account_id="local", id="Bad Id", cache_invalidate_on_update=False, cache_ttl=None, collect_logs=True,
            rate_limiting_interval=None, rate_limiting_limit=None,
        )  # fmt: skip


async def test_logs_with_the_sdk(gw: RunningGateway) -> None:
    cf = sdk(gw)
    alice = await send_chat(gw, 2, metadata={"user": "alice"})
    await send_chat(gw, 1, metadata={"user": "bob"})
    page = await cf.ai_gateway.logs.list("default", account_id="local", per_page=10)
    assert len(page.result) == 3 and page.result[0].provider == "openai"
    filtered = await cf.ai_gateway.logs.list(
        "default", account_id="local",
        filters=[{"key": "metadata.value", "operator": "eq", "value": ["alice"]}],
    )  # fmt: skip
    assert sorted(log.id for log in filtered.result) == sorted(alice)
    cheap = await cf.ai_gateway.logs.list("default", account_id="local", min_cost=0, provider="openai", cached=False)
    assert len(cheap.result) == 3
    log = await cf.ai_gateway.logs.get(alice[0], account_id="local", gateway_id="default")
    assert log.id == alice[0] and log.tokens_in and log.ai_model_type == "text-generation"
    await cf.ai_gateway.logs.edit(alice[0], account_id="local", gateway_id="default", feedback=1, score=77)
    edited = await cf.ai_gateway.logs.get(alice[0], account_id="local", gateway_id="default")
    assert edited.to_dict()["feedback"] == 1 and edited.to_dict()["score"] == 77
    request = await cf.ai_gateway.logs.request(alice[0], account_id="local", gateway_id="default")
    assert request["messages"][0]["content"] == "question number 0"
    response = await cf.ai_gateway.logs.response(alice[0], account_id="local", gateway_id="default")
    assert response["object"] == "chat.completion"
    deleted = await cf.ai_gateway.logs.delete(
        "default", account_id="local", filters=[{"key": "metadata.value", "operator": "eq", "value": ["bob"]}]
    )
    assert deleted.success
    assert len((await cf.ai_gateway.logs.list("default", account_id="local")).result) == 2


async def test_datasets_and_evaluations_with_the_sdk(gw: RunningGateway) -> None:
    cf = sdk(gw)
    await send_chat(gw, 3)
    types = [t.id async for t in cf.ai_gateway.evaluation_types.list(account_id="local")]
    assert types == ["cost", "speed", "human_feedback"]
    dataset = await cf.ai_gateway.datasets.create(
        "default", account_id="local", name="all openai", enable=True,
        filters=[{"key": "provider", "operator": "eq", "value": ["openai"]}],
    )  # fmt: skip
    assert dataset.name == "all openai" and dataset.filters[0].key == "provider"
    assert [d.id async for d in cf.ai_gateway.datasets.list("default", account_id="local")] == [dataset.id]
    got = await cf.ai_gateway.datasets.get(dataset.id, account_id="local", gateway_id="default")
    assert got.enable
    updated = await cf.ai_gateway.datasets.update(
        dataset.id, account_id="local", gateway_id="default", name="openai logs", enable=True,
        filters=[{"key": "provider", "operator": "eq", "value": ["openai"]}],
    )  # fmt: skip
    assert updated.name == "openai logs"
    evaluation = await cf.ai_gateway.evaluations.create(
        "default", account_id="local", name="run 1", dataset_ids=[dataset.id], evaluation_type_ids=types
    )
    await gw.app[SERVICES].evaluations.wait()
    done = await cf.ai_gateway.evaluations.get(evaluation.id, account_id="local", gateway_id="default")
    assert done.processed and done.total_logs == 3
    assert {r.evaluation_type_id for r in done.results} == set(types)
    assert [e.id async for e in cf.ai_gateway.evaluations.list("default", account_id="local")] == [evaluation.id]
    await cf.ai_gateway.evaluations.delete(evaluation.id, account_id="local", gateway_id="default")
    await cf.ai_gateway.datasets.delete(dataset.id, account_id="local", gateway_id="default")
    assert [d async for d in cf.ai_gateway.datasets.list("default", account_id="local")] == []


async def test_the_references_gateway_with_rate_limiting_off_is_created_and_not_limited(gw: RunningGateway) -> None:
    """The reference's audit-log example sends 0/0 for "no rate limit" (issue 14, bug 2)."""
    cf = sdk(gw)
    created = await cf.ai_gateway.create(
        account_id="local", id="no-limit", cache_invalidate_on_update=False, cache_ttl=0, collect_logs=True,
        rate_limiting_interval=0, rate_limiting_limit=0, rate_limiting_technique="fixed",
    )  # fmt: skip
    assert created.rate_limiting_interval == 0 and created.rate_limiting_limit == 0
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            async with session.post(f"{gw.base_url}/v1/local/no-limit/openai/chat/completions", json=body) as resp:
                statuses.append(resp.status)
    assert statuses == [200] * 5
