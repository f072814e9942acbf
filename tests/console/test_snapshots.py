"""Snapshots through the whole console over the seeded store: Live and Logs at 80×24 and 200×60
(views 3–6 have theirs in their own test modules), Live with the log store failing, and one view
each without colour (NO_COLOR) and in the high-contrast theme.

Everything on screen is deterministic: the clock is fixed (relative times, 'today', the rolling
stats), times are shown in UTC, log ids are seeded, and the App is built by ``make_console`` like
the CLI builds it. Synchronous tests: ``snap_compare`` runs the App in its own event loop.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from console.views.analytics import AnalyticsView
from console.views.guardrails import GuardrailsView
from console.views.live import LiveView
from console.views.logs import LogsView
from console.widgets.filter_bar import FilterBar
from proxy_core.logpipe import PipeStats
from tests.console.conftest import NOW
from tests.console.helpers import until

SAFETY_S = 60.0
"""Only a limit for a broken run; nothing waits for time to pass."""


async def live_loaded(pilot: Pilot) -> None:
    """The recent logs are in the tail and painted: awaited, not polled (a safety limit only)."""
    view = pilot.app.screen.query_one(LiveView)
    await asyncio.wait_for(view.catch_up(), SAFETY_S)
    await pilot.pause()


async def logs_loaded(pilot: Pilot) -> None:
    await pilot.press("2")
    view = pilot.app.screen.query_one(LogsView)
    await until(pilot, lambda: view.total is not None and view.detail_pane.detail is not None, what="logs + detail")
    await pilot.pause(0.1)


def test_live_80x24(snap_compare, snapshot_console) -> None:
    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=live_loaded)


def test_live_200x60(snap_compare, snapshot_console) -> None:
    assert snap_compare(snapshot_console(), terminal_size=(200, 60), run_before=live_loaded)


def test_live_log_store_failing_80x24(snap_compare, snapshot_console) -> None:
    """The status line while the log store refuses writes: said in words, cut to 80 columns."""
    failing = PipeStats(
        queued=3_200, queued_bytes=2_000_000, written=75, dropped=0, write_failures=7,
        last_error="OperationalError: (sqlite3.OperationalError) database is locked\n[SQL: INSERT INTO logs …]",
        failing_since_ms=NOW - 42_000, waiting=14, spooled=1_900, queue_max_entries=50_000,
    )  # fmt: skip

    async def failing_store(pilot: Pilot) -> None:
        await live_loaded(pilot)
        view = pilot.app.screen.query_one(LiveView)
        await until(pilot, lambda: view.pipe_stats == failing, what="the log pipeline's health")
        await pilot.pause()

    assert snap_compare(snapshot_console(log_health=lambda: failing), terminal_size=(80, 24), run_before=failing_store)


def test_live_paused_80x24(snap_compare, snapshot_console) -> None:
    async def paused(pilot: Pilot) -> None:
        await live_loaded(pilot)
        await pilot.press("down", "down", "space")
        await asyncio.wait_for(pilot.app.screen.query_one(LiveView).catch_up(), SAFETY_S)
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=paused)


def test_logs_80x24(snap_compare, snapshot_console) -> None:
    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=logs_loaded)


def test_logs_200x60(snap_compare, snapshot_console) -> None:
    assert snap_compare(snapshot_console(), terminal_size=(200, 60), run_before=logs_loaded)


def test_logs_filter_error_80x24(snap_compare, snapshot_console) -> None:
    async def bad_filter(pilot: Pilot) -> None:
        await logs_loaded(pilot)
        await pilot.press("slash")
        pilot.app.screen.query_one(FilterBar).input.value = "provider:openai cost>cheap"
        await pilot.press("enter")
        await pilot.pause(0.1)

    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=bad_filter)


def test_logs_hostile_content_light_theme_100x30(snap_compare, snapshot_console) -> None:
    async def hostile(pilot: Pilot) -> None:
        pilot.app.theme = "aigw-light"
        await logs_loaded(pilot)
        view = pilot.app.screen.query_one(LogsView)
        view.query_one(FilterBar).set_text("meta.user~mallory", apply=True)
        await until(pilot, lambda: view.total == 1 and view.detail_pane.detail is not None
                    and view.detail_pane.detail.log.id in view.records, what="the hostile log")  # fmt: skip
        view.table.focus()
        await pilot.pause(0.1)

    assert snap_compare(snapshot_console(), terminal_size=(100, 30), run_before=hostile)


def test_guardrails_no_color_80x24(snap_compare, snapshot_console, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: Textual draws in monochrome; the actions still read as words, the switch as ON/OFF."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def guardrails(pilot: Pilot) -> None:
        await pilot.press("5")
        view = pilot.app.screen.query_one(GuardrailsView)
        evaluator = view.query_one("#guardrails-evaluator", Static)
        await until(pilot, lambda: view.policy is not None and "healthy" in str(evaluator.render()), what="the policy")
        await pilot.pause()

    app = snapshot_console(evaluator_status=lambda: ("builtin", "healthy"))
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=guardrails)


def test_analytics_high_contrast_80x24(snap_compare, snapshot_console) -> None:
    async def analytics(pilot: Pilot) -> None:
        pilot.app.theme = "aigw-high-contrast"
        await pilot.press("3")
        view = pilot.app.screen.query_one(AnalyticsView)
        summary = view.query_one("#analytics-summary", Static)
        chart = view.query_one(f"#chart-{view.metric}")
        await until(pilot, lambda: "cached" in str(summary.render()) and chart.data is not None, what="analytics")
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=analytics)
