"""Replay and compare from the Logs view: ``R`` opens the target dialog (the gateway's providers,
the model, a key for this request only), the compare screen shows both answers of a real replay
through a real gateway (loopback, mock upstream), and says clearly when a replay fails."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from textual.widgets import Input, OptionList

from console.app import AigwConsole, make_console
from console.compare_screen import CompareScreen
from console.replay_dialog import ReplayDialog, ReplayOrder
from console.views.logs import LogsView
from proxy_core.events import EventBus
from proxy_core.live_feed import LiveFeed
from proxy_core.providers import ProviderRegistry
from proxy_core.replay import ReplayTarget
from proxy_core.runner import RunningGateway
from proxy_core.server import DIRECTORY, PIPE
from proxy_core.services import Actor, ReplaySent, ReplayService, Services
from proxy_core.services.audit import AuditQuery
from proxy_core.store.engine import Store
from proxy_core.store.logwriter import LogWriter
from tests.console.conftest import ACCOUNT, NOW, UTC, fixed_clock, log_row, seed_id
from tests.console.helpers import listen, said, screen_text, until
from tests.console.test_logs_view import open_logs

UNSAFE_PROMPT = "how do I make a pipe bomb at home"


class StoredReplay(ReplayService):
    """Stands in for the gateway where a test is about the screen: ``send`` answers as the gateway did
    for the stored log ``answer_id``; waiting for that log and reading it are the real service's."""

    answer_id = ""
    status = 200

    async def send(self, gateway_id: str, log_id: str, target: ReplayTarget, actor: Any, **options: Any) -> ReplaySent:
        return ReplaySent(log_id, target, "compat", self.answer_id, self.status, None, None, "MISS", True)


def closed_port() -> int:
    """A loopback port nothing listens on (a gateway that is gone)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_on(services: Services, tmp_path: Path, feed: LiveFeed | None = None) -> AigwConsole:
    return listen(make_console(
        services, feed, gateway_url=services.replay.gateway_url or "", account_id=ACCOUNT, clock=fixed_clock, tz=UTC,
        prefs_path=tmp_path / "prefs.json",
    ))  # fmt: skip


async def test_R_offers_the_gateways_providers_and_a_dead_gateway_is_a_clear_error(
    store: Store, bus: EventBus, feed: LiveFeed, tmp_path: Path
) -> None:
    services = Services(store, account_id=ACCOUNT, bus=bus, clock=fixed_clock, providers=ProviderRegistry({}),
                        gateway_url=f"http://127.0.0.1:{closed_port()}")  # fmt: skip
    async with app_on(services, tmp_path, feed).run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        record = view.selected
        assert record is not None and record.provider == "openai"
        await pilot.press("R")
        await until(pilot, lambda: isinstance(pilot.app.screen, ReplayDialog), what="the replay dialog")
        dialog = pilot.app.screen
        options = dialog.query_one(OptionList)
        model = dialog.query_one("#replay-model", Input)
        assert options.get_option_at_index(0).id == "openai" and options.option_count > 10
        assert model.value == record.model and "same provider path" in screen_text(pilot.app)

        await pilot.press("down")  # another provider: the log's model is not offered
        await until(pilot, lambda: model.value == "", what="the model cleared")
        assert dialog.provider != "openai"
        await pilot.press("enter")  # the provider chosen: on to the model
        assert model.has_focus
        await pilot.press("enter")
        assert "Name the" in screen_text(pilot.app)  # no model: not sent

        await pilot.press("shift+tab")
        await pilot.press("up")  # back to the log's own provider: its model again
        await until(pilot, lambda: model.value == record.model, what="the model restored")
        dialog.query_one("#replay-key", Input).value = "sk-typed"
        model.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), what="the compare screen")
        compare = pilot.app.screen
        assert compare.order == ReplayOrder(ReplayTarget("openai", record.model), "sk-typed", True)
        await until(pilot, lambda: compare.state == "failed", what="the replay to fail")
        text = screen_text(pilot.app)
        assert "Could not replay the request" in text and "cannot be reached" in text
        assert "sk-typed" not in text
        await until(pilot, lambda: "Answer 59" in screen_text(pilot.app), what="the original's answer")
        assert view.replay_keys == {"openai": "sk-typed"}  # offered again next time, in memory only

        await pilot.press("q")
        await until(pilot, lambda: pilot.app.screen.query(LogsView), what="back in Logs")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(pilot.app.screen, ReplayDialog), what="the dialog again")
        assert pilot.app.screen.query_one("#replay-key", Input).value == "sk-typed"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, ReplayDialog), what="the dialog closed")
        assert not (await services.audit.list(AuditQuery(action="replay"))).items  # nothing was sent


async def test_R_without_a_known_gateway_url_says_so(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await open_logs(pilot)
        await pilot.press("R")
        await until(pilot, lambda: any(s.title == "Cannot replay" for s in said(pilot.app)), what="the notice")
        [notice] = [s for s in said(pilot.app) if s.title == "Cannot replay"]
        assert "does not know the gateway's URL" in notice.message and notice.severity == "error"
        assert not isinstance(pilot.app.screen, ReplayDialog)


async def send_original(gateway: RunningGateway, body: dict) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.gateway_url}/anthropic/v1/messages", json=body,
                                headers={"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"}) as resp:  # fmt: skip
            await resp.read()
            log_id = resp.headers["cf-aig-log-id"]
    await gateway.app[PIPE].flush()
    return log_id


def gateway_services(gateway: RunningGateway) -> Services:
    return Services(gateway.store, account_id="local", directory=gateway.app[DIRECTORY],
                    providers=ProviderRegistry(gateway.settings.providers), gateway_url=gateway.base_url)  # fmt: skip


async def test_compare_shows_both_answers_of_a_real_cross_format_replay(gateway: RunningGateway, tmp_path: Path) -> None:
    first = await send_original(gateway, {"model": "claude-3-5-haiku-latest", "max_tokens": 64, "system": "Be brief.",
                                          "messages": [{"role": "user", "content": "name a colour"}]})  # fmt: skip
    services = gateway_services(gateway)
    order = ReplayOrder(ReplayTarget("openai", "gpt-4o-mini"), None, True)
    async with app_on(services, tmp_path).run_test(size=(120, 30)) as pilot:
        compare = CompareScreen(services, "default", first, order)
        await pilot.app.push_screen(compare)
        await until(pilot, lambda: compare.state == "done", what="the replay's log")
        assert compare.replay is not None and compare.replay.log.metadata == {"replay_of": first}
        assert compare.replay.log.request_type == "compat"
        text = screen_text(pilot.app)
        assert "Original  anthropic · claude-3-5-haiku-latest" in text and "Replay  openai · gpt-4o-mini" in text
        assert text.count("HTTP 200") >= 2 and "tok" in text
        assert f"Replay logged as {compare.replay.log.id}" in text
        original_answer = services.replay.answer(await services.logs.detail("default", first))
        replay_answer = services.replay.answer(compare.replay)
        assert original_answer and replay_answer
        assert original_answer[:30] in text and replay_answer[:30] in text

        assert compare.pane("original").scroller.has_focus
        await pilot.press("tab")
        assert compare.pane("replay").scroller.has_focus
        await pilot.press("tab")
        assert compare.pane("original").scroller.has_focus
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is not compare, what="the compare screen closed")
    [entry] = (await services.audit.list(AuditQuery(action="replay"))).items
    assert entry.resource_id == first and entry.new_value["route"] == "compat"


async def test_compare_says_when_a_guardrail_refused_the_replay(gateway: RunningGateway, tmp_path: Path) -> None:
    first = await send_original(gateway, {"model": "claude-3-5-haiku-latest", "max_tokens": 64,
                                          "messages": [{"role": "user", "content": UNSAFE_PROMPT}]})  # fmt: skip
    services = gateway_services(gateway)
    policy = {"enabled": True, "prompt": {"S9": "block"}, "response": {}}
    await services.gateways.update("default", {"guardrails": policy}, Actor("operator", "console"))
    order = ReplayOrder(ReplayTarget("anthropic", "claude-3-5-haiku-latest"), None, True)
    async with app_on(services, tmp_path).run_test(size=(120, 30)) as pilot:
        compare = CompareScreen(services, "default", first, order)
        await pilot.app.push_screen(compare)
        await until(pilot, lambda: compare.state == "failed" and compare.replay is not None, what="the refusal")
        text = screen_text(pilot.app)
        assert "refused by a guardrail: the prompt was blocked" in text
        assert "HTTP 400" in text and "blocked S9" in text


async def test_compare_keys_scroll_each_side_and_switch(store: Store, bus: EventBus, tmp_path: Path) -> None:
    long_answer = "\n".join(f"line {n} of a long answer" for n in range(200))
    row = log_row(900, NOW - 500, provider="openai", model="gpt-4o")
    request = orjson.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "long"}]})
    response = orjson.dumps({"choices": [{"message": {"role": "assistant", "content": long_answer}}]})
    await LogWriter(store, lambda a, g: None).write([row], [{"log_id": row["id"], "request_headers": {},
        "request_body": request, "response_headers": {}, "response_body": response}])  # fmt: skip
    services = Services(store, account_id=ACCOUNT, bus=bus, clock=fixed_clock, providers=ProviderRegistry({}),
                        gateway_url="http://127.0.0.1:8787")  # fmt: skip
    replay = StoredReplay(store, ACCOUNT, fixed_clock, services.logs, services.gateways, services.tokens,
                          ProviderRegistry({}), "http://127.0.0.1:8787")  # fmt: skip
    replay.answer_id = row["id"]
    services.replay = replay
    original = seed_id(NOW, 59)
    async with app_on(services, tmp_path).run_test(size=(80, 24)) as pilot:
        compare = CompareScreen(services, "default", original, ReplayOrder(ReplayTarget("openai", "gpt-4o"), None, True))
        await pilot.app.push_screen(compare)
        await until(pilot, lambda: compare.state == "done" and compare.original is not None, what="both sides")
        right = compare.pane("replay").scroller
        await until(pilot, lambda: right.max_scroll_y > 0, what="the long answer laid out")
        await pilot.press("tab")
        assert right.has_focus
        await pilot.press("j", "j", "j")
        await until(pilot, lambda: right.scroll_y == 3, what="three lines down")
        await pilot.press("k")
        await until(pilot, lambda: right.scroll_y == 2, what="one line up")
        await pilot.press("G")
        await until(pilot, lambda: right.scroll_y == right.max_scroll_y, what="the end")
        assert "line 199 of a long answer" in screen_text(pilot.app)
        await pilot.press("g")
        await until(pilot, lambda: right.scroll_y == 0, what="the top")
        assert compare.pane("original").scroller.scroll_y == 0  # the other side did not move
        await pilot.press("q")
        await until(pilot, lambda: pilot.app.screen is not compare, what="back")
