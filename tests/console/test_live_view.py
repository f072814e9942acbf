"""The Live view: prefilled from the store, fed by the bus, pausable, following feedback changes."""

from __future__ import annotations

from proxy_core.events import EventBus
from proxy_core.services import Services

from console.views.live import LiveView
from tests.console.conftest import NOW, log_row
from tests.console.helpers import screen_text, until


async def live_view(pilot) -> LiveView:  # noqa: ANN001 - a Pilot
    view = pilot.app.screen.query_one(LiveView)
    await until(pilot, lambda: view._ready and view.tail.row_count > 0, what="the recent logs")
    return view


def event(n: int, **changes) -> dict:  # noqa: ANN003
    """A new-log event as the bus carries it (the log columns, no bodies)."""
    row = log_row(1000 + n, NOW + n, model=f"live-model-{n}", **changes)
    return {key: value for key, value in row.items() if key not in ("request_size", "response_size")}


async def test_stream_pause_resume_stats_and_feedback(console, bus: EventBus, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        kept = view.tail.row_count
        assert kept == 75  # every gateway's stored logs
        top = screen_text(pilot.app).splitlines()[1]
        # 68 logs in the last minute of the fixed clock (5 failed), 16 of them in the last 10 s
        assert "1.6 req/s" in top and "7.4% errors" in top and "68 req/min" in top
        assert "p50 " in top and "p95 " in top and "/min" in top

        bus.publish(event(1))
        await until(pilot, lambda: view.tail.row_count == kept + 1, what="a live event")
        assert view.tail.rows()[0]["model"] == "live-model-1"
        await until(pilot, lambda: "live-model-1" in screen_text(pilot.app), what="the row on screen")

        await pilot.press("space")
        assert view.paused
        bus.publish(event(2))
        bus.publish(event(3, status_code=502, success=False))
        await until(pilot, lambda: len(view._pending) == 2, what="events held while paused")
        assert view.tail.row_count == kept + 1
        await until(pilot, lambda: "2 new (space resumes)" in screen_text(pilot.app), what="'2 new'")
        assert "paused" in screen_text(pilot.app)
        await pilot.press("space")
        assert not view.paused
        await until(pilot, lambda: view.tail.row_count == kept + 3, what="the held events")
        assert [r["model"] for r in view.tail.rows()[:2]] == ["live-model-3", "live-model-2"]

        stored = view.tail.rows()[3]  # the newest stored log: feedback set elsewhere shows up here
        await services.logs.annotate("default", stored["id"], feedback=-1, score=5)  # publishes log_updated
        await until(pilot, lambda: view.tail.rows()[3]["feedback"] == -1, what="the update")
        assert view.tail.rows()[3]["score"] == 5
        await until(pilot, lambda: "- 5" in screen_text(pilot.app).splitlines()[7], what="the row repainted")


async def test_filter_in_memory_and_open_in_logs(console, bus: EventBus) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await pilot.press("slash", *"provider:anthropic", "enter")
        await until(pilot, lambda: view.tail.row_count == 10 and view._ready, what="the filtered prefill")
        bus.publish(event(4))  # openai: filtered out
        bus.publish(event(5, provider="anthropic"))
        await until(pilot, lambda: view.tail.row_count == 11, what="the matching event")
        assert view.tail.rows()[0]["model"] == "live-model-5"

        await pilot.press("down", "enter")  # the newest stored anthropic log
        chosen = view.tail.rows()[1]
        await until(pilot, lambda: pilot.app.current_mode == "logs", what="the Logs view")
        logs = pilot.app.screen.view
        await until(pilot, lambda: logs.filter_text == f"id:{chosen['id']}" and logs.total == 1 and not logs._loading)


async def test_no_repaint_while_hidden(console, bus: EventBus) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await pilot.press("2")
        await pilot.pause(0.3)
        repaints = []
        flush = view.tail.flush
        view.tail.flush = lambda: (repaints.append(1), flush())  # type: ignore[method-assign]
        bus.publish(event(6))
        await until(pilot, lambda: view.tail.row_count == 76, what="the event, taken in while hidden")
        await pilot.pause(0.5)
        assert view._dirty and not repaints  # kept, not painted: the Logs view is on screen
        await pilot.press("1")
        await until(pilot, lambda: not view._dirty and repaints, what="the repaint on return")
