"""Snapshots of the Live and Logs views at 80×24 and 200×60 over the seeded store.

Everything on screen is deterministic: the clock is fixed (relative times, 'today', the rolling
stats), times are shown in UTC, log ids are seeded, and the App is built by ``make_console`` like
the CLI builds it. Synchronous tests: ``snap_compare`` runs the App in its own event loop.
"""

from __future__ import annotations

import pytest

from textual.pilot import Pilot

from console.views.live import LiveView
from console.views.logs import LogsView
from console.widgets.filter_bar import FilterBar
from tests.console.helpers import until


async def live_loaded(pilot: Pilot) -> None:
    view = pilot.app.screen.query_one(LiveView)
    await until(pilot, lambda: view._ready and view.tail.row_count > 0, what="the live tail")
    view._show_stats()
    view._repaint()
    await pilot.pause(0.1)


async def logs_loaded(pilot: Pilot) -> None:
    await pilot.press("2")
    view = pilot.app.screen.query_one(LogsView)
    await until(pilot, lambda: view.total is not None and view.detail_pane.detail is not None, what="logs + detail")
    await pilot.pause(0.1)


@pytest.mark.skip(reason="flaky on a loaded machine: the live-tail snapshot can race the seeded rows' flushes (issue 7)")
def test_live_80x24(snap_compare, snapshot_console) -> None:
    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=live_loaded)


def test_live_paused_80x24(snap_compare, snapshot_console) -> None:
    async def paused(pilot: Pilot) -> None:
        await live_loaded(pilot)
        await pilot.press("down", "down", "space")
        await pilot.pause(0.3)

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
