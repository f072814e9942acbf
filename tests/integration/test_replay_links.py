"""A replay from the console's side of each real link (attached over the event stream, in-process
on a thread) to an authenticated gateway: the token made for the replay reaches the gateway through
the link before the request does, and is revoked after it."""

from __future__ import annotations

import aiohttp

from proxy_core.providers import ProviderRegistry
from proxy_core.replay import ReplayTarget
from proxy_core.services import Services
from tests.integration.console_links import OPERATOR, Linked, linked

__all__ = ["linked"]


async def test_replay_through_each_link_to_an_authenticated_gateway(linked: Linked) -> None:
    link, gateway = linked.link, linked.gateway
    services = Services(  # as console.launch builds the console's service layer
        linked.services.store, account_id="local", directory=link, bus=link.bus, on_logs_deleted=link.logs_deleted,
        providers=ProviderRegistry(gateway.settings.providers), gateway_url=gateway.base_url,
    )  # fmt: skip
    app_token = await services.tokens.create("default", OPERATOR, name="app")
    await services.gateways.update("default", {"authentication": True}, OPERATOR)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{gateway.gateway_url}/openai/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]},
            headers={"cf-aig-authorization": f"Bearer {app_token.secret}"},
        ) as resp:
            assert resp.status == 200
            first = resp.headers["cf-aig-log-id"]
    await linked.flush()
    sent = await services.replay.send("default", first, ReplayTarget("anthropic", "claude-3-5-haiku-latest"), OPERATOR)
    assert sent.status == 200 and sent.route == "compat", sent
    detail = await services.replay.wait_for_log("default", sent.log_id)
    assert detail.log.metadata == {"replay_of": first} and services.replay.answer(detail)
    active = [t.name for t in await services.tokens.list("default") if t.active]
    assert active == ["app"]
