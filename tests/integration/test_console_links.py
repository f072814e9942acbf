"""The console App itself, driven with Pilot, over both real gateway links: a request the gateway
answered appears in Live, Enter opens it (in the Logs view's pager), a thumbs up in Logs is stored
and comes back to Live through the link's feed — the same keys and the same results whether the gateway runs on a
thread of this process or in another process reached over its event stream."""

from __future__ import annotations

import time
from typing import Any, Callable

import aiohttp

from console.app import make_console
from console.attach import AttachedLink
from console.log_pager import LogPager
from console.views.live import LiveView
from console.views.logs import LogsView
from console.widgets.live_tail import LiveTail
from tests.integration.console_links import Linked, linked

__all__ = ["linked"]

HANG_S = 60.0


async def wait_until(pilot: Any, predicate: Callable[[], bool]) -> None:  # noqa: ANN401
    deadline = time.monotonic() + HANG_S
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def test_live_tail_open_and_rate_through_the_link(linked: Linked, tmp_path) -> None:  # noqa: ANN001
    link = linked.link
    app = make_console(
        linked.services, link.feed, gateway_url=linked.gateway.base_url, account_id="local",
        attached=isinstance(link, AttachedLink), prefs_path=tmp_path / "prefs.toml", data_dir=tmp_path,
        evaluator_status=link.evaluator_status, log_health=link.log_health,
    )  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        body = {"model": "pilot-canary", "messages": [{"role": "user", "content": "hello"}]}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{linked.gateway.gateway_url}/openai/chat/completions", json=body) as response:
                assert response.status == 200
                log_id = response.headers["cf-aig-log-id"]
        tail = app.screen.query_one(LiveView).query_one(LiveTail)
        await wait_until(pilot, lambda: any(row["id"] == log_id for row in tail.rows()))
        await linked.flush()  # stored, so the Logs view can read it

        tail.focus()
        for _ in range(tail.row_count):  # the newest row is selected first
            if tail.selected is not None and tail.selected["id"] == log_id:
                break
            await pilot.press("down")
        assert tail.selected is not None and tail.selected["id"] == log_id
        await pilot.press("enter")  # one Enter: the log opens in Logs, in full (the pager)
        await wait_until(pilot, lambda: isinstance(app.screen, LogPager) and app.screen.detail.log.id == log_id)
        await pilot.press("q")  # back to the Logs table, the log highlighted
        await wait_until(pilot, lambda: _selected_in_logs(app) == log_id)
        await pilot.press("plus")
        deadline = time.monotonic() + HANG_S
        while (await linked.services.logs.get("default", log_id)).feedback != 1:
            assert time.monotonic() < deadline, "the thumbs up was never stored"
            await pilot.pause(0.02)

        await pilot.press("1")  # back to Live: the edit arrived through the link's feed
        tail = app.screen.query_one(LiveView).query_one(LiveTail)
        await wait_until(pilot, lambda: any(row["id"] == log_id and row.get("feedback") == 1 for row in tail.rows()))


def _selected_in_logs(app: Any) -> str | None:  # noqa: ANN401
    views = app.screen.query(LogsView)
    if not views:
        return None
    selected = views.first().selected
    return selected.id if selected is not None else None
