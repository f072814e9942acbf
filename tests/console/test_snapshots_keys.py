"""Snapshots at 80×24 of the layout pass and the key map: the log pager (a search match marked;
guardrail verdicts named; a tiny cost written out), the Logs status line with newer logs, the by-model breakdown with Cost and Avg, an attached console's header naming the
view with view 4's footer ending in Help, view 6's tabs in the footer, and the search line.

Deterministic like the other snapshot modules: a fixed clock, UTC, seeded ids.
"""

from __future__ import annotations

import dataclasses

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from console.log_pager import LogPager
from console.views.analytics import AnalyticsView
from console.views.datasets import DatasetsView
from console.views.gateways import GatewaysView
from console.views.guardrails import GuardrailsView
from console.views.logs import LogsView
from tests.console.conftest import NOW, UTC, log_row
from tests.console.helpers import until
from tests.console.test_log_pager import VERDICTS
from tests.console.test_snapshots import logs_loaded

SIZE = (80, 24)


async def pager_open(pilot: Pilot) -> LogPager:
    await logs_loaded(pilot)
    await pilot.press("z")
    await until(pilot, lambda: isinstance(pilot.app.screen, LogPager), what="the pager")
    pager = pilot.app.screen
    assert isinstance(pager, LogPager)
    await until(pilot, lambda: pager.body.virtual_size.height > 0, what="the pager's text")
    return pager


def test_pager_search_80x24(snap_compare, snapshot_console) -> None:
    async def searched(pilot: Pilot) -> None:
        pager = await pager_open(pilot)
        await pilot.press("slash", *"gateway", "enter", "n")
        await until(pilot, lambda: pager.body.current == 1, what="the second match")
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=searched)


def test_pager_guardrail_verdicts_80x24(snap_compare, snapshot_console) -> None:
    async def verdicts(pilot: Pilot) -> None:
        await logs_loaded(pilot)
        view = pilot.app.screen.query_one(LogsView)
        detail = view.detail_pane.detail
        assert detail is not None
        log = dataclasses.replace(detail.log, guardrails=VERDICTS, cost=6e-08)
        pager = LogPager(dataclasses.replace(detail, log=log), tz=UTC)
        await pilot.app.push_screen(pager)
        await until(pilot, lambda: pager.body.virtual_size.height > 0, what="the pager's text")
        pager.body.scroll_to(y=5, animate=False)
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=verdicts)


def test_logs_newer_80x24(snap_compare, snapshot_console) -> None:
    async def newer(pilot: Pilot) -> None:
        await logs_loaded(pilot)
        view = pilot.app.screen.query_one(LogsView)
        for n in range(34):
            pilot.app.feed.push(log_row(900 + n, NOW + 1_000 + n))
        await until(pilot, lambda: "▲ 34 newer (r shows)" in str(view.query_one("#logs-status", Static).render()),
                    what="the newer count")  # fmt: skip
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=newer)


def test_analytics_by_model_80x24(snap_compare, snapshot_console) -> None:
    async def by_model(pilot: Pilot) -> None:
        await pilot.press("3")
        view = pilot.app.screen.query_one(AnalyticsView)
        table = view.query_one("#analytics-breakdown", DataTable)
        await until(pilot, lambda: table.row_count > 0, what="the breakdown")
        await pilot.press("b")
        await until(pilot, lambda: view.group_by == "model" and table.row_count == 4, what="by model")
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=by_model)


def test_attached_header_and_datasets_footer_80x24(snap_compare, snapshot_console) -> None:
    async def datasets(pilot: Pilot) -> None:
        await pilot.press("4")
        view = pilot.app.screen.query_one(DatasetsView)
        await until(pilot, lambda: view.is_mounted and view.query(DataTable), what="the datasets view")
        await pilot.pause()

    assert snap_compare(snapshot_console(attached=True), terminal_size=SIZE, run_before=datasets)


def test_gateways_tabs_in_the_footer_80x24(snap_compare, snapshot_console) -> None:
    async def gateways(pilot: Pilot) -> None:
        await pilot.press("6")
        view = pilot.app.screen.query_one(GatewaysView)
        table = view.query_one("#gateways-list", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="the gateways")
        await pilot.press("right")  # → the tokens tab
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=gateways)


def test_guardrails_search_line_80x24(snap_compare, snapshot_console) -> None:
    async def searching(pilot: Pilot) -> None:
        await pilot.press("5")
        view = pilot.app.screen.query_one(GuardrailsView)
        table = view.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 14 and view.policy is not None, what="the policy")
        await pilot.press("slash", *"crimes", "enter")
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=searching)
