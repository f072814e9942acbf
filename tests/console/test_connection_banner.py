"""An attached console whose gateway died: a persistent banner in every view until the stream is
back, and the Live status line never says live meanwhile (issue 15, item 2)."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot

from console.views.live import LiveView
from console.widgets.connection_banner import ConnectionBanner
from tests.console.conftest import NOW
from tests.console.helpers import screen_text, until

BANNER = "⚠ gateway unreachable since 03:19:18, retrying"
"""NOW - 42 s in UTC (the console fixtures show times in UTC)."""


async def test_the_banner_stays_in_every_view_until_the_gateway_is_back(console) -> None:
    app = console(attached=True)
    async with app.run_test(size=(80, 24)) as pilot:
        live = app.screen.query_one(LiveView)
        await asyncio.wait_for(live.catch_up(), 60)
        assert "● live" in screen_text(app) and BANNER not in screen_text(app)

        app.gateway_unreachable(NOW - 42_000)  # what the AttachedLink reports when its stream drops
        await until(pilot, lambda: BANNER in screen_text(app), what="the banner")
        lines = screen_text(app).splitlines()
        assert lines[1].strip() == BANNER  # right under the header
        assert "● live" not in screen_text(app) and "✕ gateway unreachable" in screen_text(app)

        for key in "23456":  # every view shows it, and it stays
            await pilot.press(key)
            await until(pilot, lambda: app.current_mode != "live", what=f"view {key}")
            await until(pilot, lambda: BANNER in screen_text(app), what=f"the banner in view {key}")
        await pilot.press("1")
        await until(pilot, lambda: app.current_mode == "live", what="back to Live")
        assert "● live" not in screen_text(app)

        app.gateway_unreachable(None)  # reconnected
        await until(pilot, lambda: BANNER not in screen_text(app), what="the banner gone")
        await until(pilot, lambda: "● live" in screen_text(app), what="live again")
        assert not app.screen.query_one(ConnectionBanner).has_class("-shown")
        await pilot.press("5")
        await until(pilot, lambda: app.current_mode == "guardrails", what="view 5")
        assert "unreachable" not in screen_text(app)


async def _unreachable(pilot: Pilot) -> None:
    live = pilot.app.screen.query_one(LiveView)
    await asyncio.wait_for(live.catch_up(), 60)
    pilot.app.gateway_unreachable(NOW - 42_000)
    await until(pilot, lambda: BANNER in screen_text(pilot.app), what="the banner")
    await pilot.pause()


def test_snapshot_live_gateway_unreachable_80x24(snap_compare, snapshot_console) -> None:
    assert snap_compare(snapshot_console(attached=True), terminal_size=(80, 24), run_before=_unreachable)
