"""Live: guardrail verdicts in words (blocked / flagged with the S-codes, readable without colour),
rows strictly in arrival order however the requests finish, and Enter opening the log at once at
80×24 (issue 15, items 1 and 11)."""

from __future__ import annotations

import asyncio

from proxy_core.events import EventBus

from console.log_pager import LogPager
from console.views.live import LiveView
from console.widgets.live_tail import guard_verdict
from tests.console.conftest import NOW, log_row
from tests.console.helpers import screen_text, until


def event(n: int, created_at: int, **changes) -> dict:  # noqa: ANN003
    row = log_row(2000 + n, created_at, model=f"m-{n}", **changes)
    return {key: value for key, value in row.items() if key not in ("request_size", "response_size")}


def blocked(*codes: str) -> dict:
    return {"action": "blocked", "categories": list(codes), "evaluated": True, "actions": dict.fromkeys(codes, "block")}


def flagged(*codes: str) -> dict:
    return {"action": "flagged", "categories": list(codes), "evaluated": True, "actions": dict.fromkeys(codes, "flag")}


def test_the_verdict_reads_without_colour() -> None:
    assert guard_verdict(blocked("S1")) == ("BLOCK S1", "error")
    assert guard_verdict(flagged("S10")) == ("flag S10", "warn")
    assert guard_verdict(blocked("S1", "S9")) == ("BLOCK S1+", "error")  # more codes than fit in 9 cells
    assert guard_verdict(blocked("S1", "S9"), 16) == ("BLOCK S1,S9", "error")
    assert guard_verdict({"action": "blocked", "categories": [], "evaluated": False}) == ("BLOCK", "error")
    assert guard_verdict({"action": "passed", "categories": [], "evaluated": False}) == ("unchecked", "dim")
    assert guard_verdict({"action": "passed", "categories": [], "evaluated": True}) == ("", None)
    assert guard_verdict(None) == ("", None)


async def test_hits_show_in_the_tail_in_order_and_enter_opens_the_log_at_once(console, bus: EventBus) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        view = app.screen.query_one(LiveView)
        await until(pilot, lambda: view.loaded and view.tail.row_count > 0, what="the recent logs")
        # a slow request finishes after a quick one that arrived later: the tail stays in arrival order
        bus.publish(event(1, NOW + 5_000, status_code=400, success=False, guardrails=blocked("S1")))
        bus.publish(event(2, NOW + 2_000, guardrails=flagged("S10")))
        bus.publish(event(3, NOW + 9_000))
        await until(pilot, lambda: "m-3" in screen_text(app), what="the events on screen")
        rows = view.tail.rows()
        assert [r["model"] for r in rows[:3]] == ["m-3", "m-1", "m-2"]
        assert all(a["created_at"] >= b["created_at"] for a, b in zip(rows, rows[1:]))
        lines = screen_text(app).splitlines()
        assert "BLOCK S1" in next(line for line in lines if "m-1" in line)
        assert "flag S10" in next(line for line in lines if "m-2" in line)
        assert "guard" in next(line for line in lines if line.startswith("time"))

        await pilot.press("down", "down", "down", "enter")  # one Enter: the newest stored log, open in full
        await until(pilot, lambda: app.current_mode == "logs", what="the Logs view")
        # opened in full (the Logs view's pager), without a second Enter
        await until(pilot, lambda: isinstance(app.screen, LogPager), what="the log, opened in the pager")
        logs = app.screen_stack[-2].view
        assert app.screen.detail.log.id == rows[3]["id"] and logs.filter_text == f"id:{rows[3]['id']}"


def test_snapshot_live_verdicts_no_color_80x24(snap_compare, snapshot_console, monkeypatch) -> None:  # noqa: ANN001
    """Without colour a blocked and a flagged request still read as such, with their S-codes."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def hits(pilot) -> None:  # noqa: ANN001
        view = pilot.app.screen.query_one(LiveView)
        await asyncio.wait_for(view.catch_up(), 60)
        feed = pilot.app.feed
        feed.push(event(1, NOW + 1_000, status_code=400, success=False, guardrails=blocked("S1", "S9")))
        feed.push(event(2, NOW + 2_000, guardrails=flagged("S10")))
        await asyncio.wait_for(view.catch_up(), 60)
        await pilot.pause()

    app = snapshot_console()
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=hits)


async def test_enter_on_a_guardrail_category_opens_its_hits_in_logs(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await pilot.press("5")
        await until(pilot, lambda: app.current_mode == "guardrails", what="view 5")
        view = app.screen.view
        await until(pilot, lambda: view.policy is not None and view.hits is not None, what="the policy and hits")
        await pilot.press("down", "enter")  # S2
        await until(pilot, lambda: app.current_mode == "logs", what="the Logs view")
        logs = app.screen.view
        await until(pilot, lambda: logs.filter_text == "category:S2 since:24h" and not logs._loading, what="the hits")
        assert "category:S2 since:24h" in screen_text(app)


def test_a_late_row_goes_to_its_place_and_the_selection_stays_on_its_row() -> None:
    from console.widgets.live_tail import LiveTail

    tail = LiveTail(max_rows=4)
    tail.add_rows([event(1, NOW), event(2, NOW + 10)])  # oldest first, as the feed delivers them
    tail.cursor = 1  # the operator reads the older row (not following)
    chosen = tail.selected
    added = tail.add_rows([event(3, NOW + 20), event(4, NOW + 5)])  # a new one, and a slow one from before
    assert added == 2
    assert [r["model"] for r in tail.rows()] == ["m-3", "m-2", "m-4", "m-1"]
    assert tail.selected is chosen and tail.unseen == 2  # both landed above the row being read
    tail.add_rows([event(5, NOW + 30)])  # full: the oldest (the one read) goes; the selection stays at the bottom
    assert [r["model"] for r in tail.rows()] == ["m-5", "m-3", "m-2", "m-4"]
    assert tail.selected["model"] == "m-4"
