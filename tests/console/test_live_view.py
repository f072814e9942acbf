"""The Live view: prefilled from the store, fed by the bus, pausable, following feedback changes, and
saying on its status line when the gateway's log pipeline is in trouble."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Awaitable

from textual.screen import ModalScreen
from textual.widgets import Static

from proxy_core.events import EventBus
from proxy_core.logpipe import PipeStats
from proxy_core.services import Services

from console.views.live import LiveView
from tests.console.conftest import NOW, log_row
from tests.console.helpers import screen_text, until


async def live_view(pilot) -> LiveView:  # noqa: ANN001 - a Pilot
    view = pilot.app.screen.query_one(LiveView)
    await until(pilot, lambda: view.loaded and view.tail.row_count > 0, what="the recent logs")
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
        await until(pilot, lambda: view.waiting == 2, what="events counted while paused")
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
        await until(pilot, lambda: view.tail.row_count == 10 and view.loaded, what="the filtered prefill")
        bus.publish(event(4))  # openai: filtered out
        bus.publish(event(5, provider="anthropic"))
        await until(pilot, lambda: view.tail.row_count == 11, what="the matching event")
        assert view.tail.rows()[0]["model"] == "live-model-5"

        await pilot.press("down", "enter")  # the newest stored anthropic log
        chosen = view.tail.rows()[1]
        await until(pilot, lambda: pilot.app.current_mode == "logs", what="the Logs view")
        logs = pilot.app.screen.view
        await until(pilot, lambda: logs.filter_text == f"id:{chosen['id']}" and logs.total == 1 and not logs._loading)


async def test_no_frame_while_hidden(console, bus: EventBus) -> None:
    """Hidden (another view shown), the tail takes nothing from the feed; on return it takes the newest."""
    async with console().run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await pilot.press("2")
        await until(pilot, lambda: pilot.app.current_mode == "logs", what="the Logs view")
        bus.publish(event(6))
        # the Logs view looks at the same feed (once a second) and counts the new log: time went by
        await until(pilot, lambda: "1 newer" in screen_text(pilot.app), what="the Logs view's look")
        assert view.tail.row_count == 75  # not taken while hidden
        await pilot.press("1")
        await until(pilot, lambda: view.tail.row_count == 76, what="the event, taken on return")
        assert view.tail.rows()[0]["model"] == "live-model-6"


async def test_a_burst_shows_the_newest_rows_and_counts_the_rest(console, bus: EventBus) -> None:
    async with console(clock=lambda: NOW + 1000).run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        for n in range(500):
            bus.publish(event(100 + n))
        await view.catch_up()
        fits = view.tail.scrollable_content_region.height - 1
        assert view.tail.rows()[0]["model"] == "live-model-599"
        assert view.tail.row_count == 75 + fits and view.not_shown == 500 - fits
        assert f"{500 - fits:,} not shown" in status(view)
        # the true rates: every request counted. A second after NOW the minute holds 67 stored logs
        # (the oldest one left it) and the burst; the last 10 s, 14 stored logs and the burst.
        top = screen_text(pilot.app).splitlines()[1]
        assert "567 req/min" in top and "51.4 req/s" in top


async def test_the_tail_moves_behind_a_dialog(console, bus: EventBus) -> None:
    async with console(on_detach=lambda: None).run_test(size=(120, 40)) as pilot:
        await live_view(pilot)  # the Live view is up before the dialog opens
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(pilot.app.screen, ModalScreen), what="the detach dialog")
        bus.publish(event(8))
        await until(pilot, lambda: "live-model-8" in screen_text(pilot.app), what="the row, around the dialog")
        assert isinstance(pilot.app.screen, ModalScreen)


# -- the log pipeline's health on the status line ----------------------------------------------------

HEALTHY = PipeStats(queued=3, queued_bytes=4_096, written=75, dropped=0, write_failures=0, last_error=None,
                    queue_max_entries=50_000)  # fmt: skip
FAILING = replace(HEALTHY, queued=3_200, write_failures=7, last_error="OperationalError: database is locked",
                  failing_since_ms=NOW - 42_000, spooled=1_900)  # fmt: skip


class FakePipe:
    """A ``log_health`` whose answer the test changes between polls (sync, or async with ``awaited``)."""

    def __init__(self, stats: PipeStats = HEALTHY, *, awaited: bool = False) -> None:
        self.stats = stats
        self.reads = 0
        self.fails: Exception | None = None
        self.awaited = awaited

    def read(self) -> PipeStats:
        self.reads += 1
        if self.fails is not None:
            raise self.fails
        return self.stats

    def __call__(self) -> PipeStats | Awaitable[PipeStats]:
        if not self.awaited:
            return self.read()

        async def later() -> PipeStats:
            await asyncio.sleep(0)
            return self.read()

        return later()


def status(view: LiveView) -> str:
    return str(view.query_one("#live-status", Static).render())


async def health_shown(pilot, view: LiveView, pipe: FakePipe, stats: PipeStats) -> str:  # noqa: ANN001
    """Give the pipe a new answer, have the view read it now, and return the status line then."""
    pipe.stats = stats
    view.poll_log_health()
    await until(pilot, lambda: view.pipe_stats == stats and view.health_error is None, what=f"{stats} read")
    return status(view)


async def test_status_line_says_when_the_log_pipeline_is_in_trouble(console) -> None:
    pipe = FakePipe(awaited=True)
    async with console(log_health=pipe).run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await until(pilot, lambda: view.pipe_stats == HEALTHY, what="the first read, by the poller")
        await view.catch_up()
        assert status(view) == "● live  ·  all gateways  ·  75 kept"  # healthy: nothing added

        line = await health_shown(pilot, view, pipe, FAILING)
        assert line == ("● live  ·  ⚠ log store failing 42s: OperationalError: database is locked"
                        "  ·  3,200 logs waiting · 1,900 in crash spool")  # fmt: skip
        bottom = screen_text(pilot.app).splitlines()[-2]  # above the footer: cut to 80 columns, not wrapped
        assert "⚠ log store failing 42s: OperationalError: database is locked" in bottom
        assert bottom.rstrip().endswith("…")

        held = replace(HEALTHY, queued=50_000, waiting=14)
        line = await health_shown(pilot, view, pipe, held)
        assert line == "● live  ·  ⚠ log queue full: 14 requests held  ·  50,000 logs waiting"

        dropped = replace(HEALTHY, overload="drop", dropped=1_203)
        assert await health_shown(pilot, view, pipe, dropped) == "● live  ·  ⚠ 1,203 logs dropped"

        line = await health_shown(pilot, view, pipe, replace(held, refused=12))
        assert "⚠ log queue full: 14 requests held  ·  ⚠ 12 requests refused (503)" in line

        # an older gateway's /healthz: an error but no failing time
        old = PipeStats(queued=10, queued_bytes=0, written=9, dropped=0, write_failures=2, last_error="boom\n[SQL: …]")
        line = await health_shown(pilot, view, pipe, old)
        assert line == "● live  ·  ⚠ log store failing: boom  ·  10 logs waiting"

        assert await health_shown(pilot, view, pipe, HEALTHY) == "● live  ·  all gateways  ·  75 kept"


async def test_dropped_and_refused_are_alerts_while_they_grow(console) -> None:
    now = [NOW]
    pipe = FakePipe(replace(HEALTHY, dropped=5, refused=2))
    async with console(log_health=pipe, clock=lambda: now[0]).run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await until(pilot, lambda: view.pipe_stats is not None, what="the first read")
        alerts = {text: alert for _, text, alert in view._health_parts()}
        assert alerts == {"⚠ 2 requests refused (503)": True, "⚠ 5 logs dropped": True}
        now[0] += 61_000  # a minute without growth: still said, no longer an alert
        await health_shown(pilot, view, pipe, replace(HEALTHY, dropped=5, refused=2, written=80))
        assert {text: alert for _, text, alert in view._health_parts()} == {
            "⚠ 2 requests refused (503)": False, "⚠ 5 logs dropped": False}  # fmt: skip
        await health_shown(pilot, view, pipe, replace(HEALTHY, dropped=6, refused=2))
        assert {text: alert for _, text, alert in view._health_parts()}["⚠ 6 logs dropped"] is True


async def test_a_failing_log_health_does_not_break_the_view(console, bus: EventBus) -> None:
    pipe = FakePipe()
    pipe.fails = RuntimeError("the gateway did not answer")
    async with console(log_health=pipe).run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await until(pilot, lambda: view.health_error is not None, what="the failed read")
        assert status(view) == "● live  ·  ? log health unknown: the gateway did not answer"
        bus.publish(event(7))  # the tail carries on
        await until(pilot, lambda: view.tail.row_count == 76, what="a live event")
        await pilot.press("space")
        assert view.paused
        await pilot.press("space")
        pipe.fails = None
        pipe.stats = None  # type: ignore[assignment]  # a broken callable: said, not raised
        view.poll_log_health()
        await until(pilot, lambda: view.health_error is not None and "NoneType" in view.health_error, what="None")
        assert await health_shown(pilot, view, pipe, HEALTHY) == "● live  ·  all gateways  ·  76 kept"


async def test_log_health_is_not_read_while_hidden(console) -> None:
    pipe = FakePipe()
    async with console(log_health=pipe).run_test(size=(80, 24)) as pilot:
        view = await live_view(pilot)
        await until(pilot, lambda: pipe.reads >= 1, what="the first read")
        await pilot.press("2")
        view.poll_log_health()  # wakes the poller, which finds the view hidden and waits
        await until(pilot, lambda: not view._health_shown.is_set(), what="the poller parked")
        reads = pipe.reads
        failing = replace(FAILING)
        pipe.stats = failing
        await pilot.press("1")
        await until(pilot, lambda: view.pipe_stats is failing, what="a read on return")
        assert pipe.reads == reads + 1
        assert "log store failing 42s" in status(view)
