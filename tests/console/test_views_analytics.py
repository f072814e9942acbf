"""AnalyticsView: range switching shows the seeded totals; snapshots at 80×24 and 200×60."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from console.views.analytics import AnalyticsView
from console.widgets.analytics_chart import AnalyticsChart
from tests.console.views_harness import UTC, ViewHarness, fixed_clock, make_services, open_seeded_store, settle
from tests.console.helpers import said


def _view(services) -> AnalyticsView:
    return AnalyticsView(services, "default", clock=fixed_clock, tz=UTC)


def _summary(app: ViewHarness) -> str:
    return str(app.screen.query_one("#analytics-summary", Static).render())


async def test_range_switch_shows_seeded_totals_and_errors_notify(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db")
    try:
        services = make_services(store)
        app = ViewHarness(_view, services=services)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            view = app.screen.query_one(AnalyticsView)
            assert view.range_key == "24h"
            assert "16 requests" in _summary(app)
            expected = {"7d": "19 requests", "30d": "21 requests", "1h": "12 requests", "24h": "16 requests"}
            for key in ("7d", "30d", "1h", "24h"):
                await pilot.press("r")
                await settle(pilot)
                assert view.range_key == key
                assert expected[key] in _summary(app), _summary(app)
            # the last hour: 8 openai + 4 anthropic, busiest first
            await pilot.press("R")
            await settle(pilot)
            assert view.range_key == "1h"
            table = app.screen.query_one("#analytics-breakdown", DataTable)
            assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["openai", "anthropic"]
            assert str(table.get_row_at(0)[1]) == "8"
            chart = app.screen.query_one("#chart-requests", AnalyticsChart)
            assert chart.data is not None and sum(chart.data.series[0].values) == 12
            cache = app.screen.query_one("#chart-cache", AnalyticsChart)
            assert cache.data is not None and max(cache.data.series[0].values) == 100.0
            # group by model, then chart another metric
            await pilot.press("b", "c")
            await settle(pilot)
            assert str(table.columns[table.ordered_columns[0].key].label) == "Model"
            assert {str(table.get_row_at(i)[0]) for i in range(table.row_count)} == {"gpt-4o-mini", "claude-3-5-haiku"}
            assert view.metric == "tokens"
            assert app.screen.query_one("#chart-tokens").display
            assert not app.screen.query_one("#chart-requests").display

            # another gateway (no traffic), then a failing service: a notification, no crash
            view.set_gateway("other")
            await settle(pilot)
            assert "0 requests" in _summary(app)

            async def broken(*args, **kwargs):
                raise RuntimeError("database is gone")

            services.analytics.series = broken  # type: ignore[method-assign]
            view.refresh_data()
            await settle(pilot)
            assert any("database is gone" in n.message for n in said(app))
    finally:
        await store.close()


def _snapshot_app(tmp_path: Path) -> ViewHarness:
    async def setup():
        return make_services(await open_seeded_store(tmp_path / "snap.db"))

    return ViewHarness(_view, setup=setup)


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_snapshot_200x60(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(200, 60), run_before=settle)
