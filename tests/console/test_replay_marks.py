"""A replay reads as one where the operator looks (issue 15, replay and compare): ``↻`` before the
model in the Logs table and in Live (no colour needed), ``replay of <id>`` in the detail pane and
the pager, and ``o`` (from the table or the pager) opens the original in the pager."""

from __future__ import annotations

from console.log_pager import LogPager
from console.replay_mark import model_cell
from console.views.live import LiveView
from console.views.logs import LogsView
from proxy_core.store.engine import Store
from proxy_core.store.logwriter import LogWriter
from tests.console.conftest import NOW, log_row, seed_id
from tests.console.helpers import screen_text, until

ORIGINAL = seed_id(NOW, 59)  # the newest seeded log
REPLAY = log_row(901, NOW + 500, provider="anthropic", model="claude-sonnet-4-5-20250929",
                 metadata={"replay_of": ORIGINAL, "user": "alice"})  # fmt: skip


def test_the_model_cell_of_a_replay() -> None:
    assert model_cell("claude-sonnet-4-5-20250929", True, 20) == "↻ claude-sonnet-4-5…"
    assert model_cell("gpt-4o", True, 14) == "↻ gpt-4o" and model_cell("gpt-4o", False, 14) == "gpt-4o"
    assert model_cell("gpt-4o", True, 1) == "↻"


async def _replay_in_logs(pilot) -> LogsView:  # noqa: ANN001 - a Pilot
    await pilot.press("2")
    view = pilot.app.screen.query_one(LogsView)
    await until(pilot, lambda: view.detail_pane.detail is not None, what="the detail")
    assert view.selected is not None and view.selected.id == REPLAY["id"]  # the newest: the replay
    return view


async def test_a_replay_is_marked_in_logs_and_o_opens_the_original(console, store: Store) -> None:
    await LogWriter(store, lambda a, g: None).write([REPLAY], [])
    async with console().run_test(size=(80, 24)) as pilot:
        view = await _replay_in_logs(pilot)
        text = screen_text(pilot.app)
        [replay_line] = [line for line in text.splitlines() if "anthropic" in line and "200" in line][:1]
        assert "↻ cl" in replay_line and "-4-5…" in replay_line  # the mark, then the name cut to fit
        assert f"↻ replay of {ORIGINAL} (o opens it)" in " ".join(text.split())  # the detail pane

        await pilot.press("z")
        await until(pilot, lambda: isinstance(pilot.app.screen, LogPager), what="the pager")
        pager = pilot.app.screen
        await until(pilot, lambda: f"replay of ↻ {ORIGINAL}" in " ".join(screen_text(pilot.app).split()),
                    what="the pager says what it replays")  # fmt: skip
        await pilot.press("o")
        await until(pilot, lambda: isinstance(pilot.app.screen, LogPager) and pilot.app.screen is not pager,
                    what="the original's pager")  # fmt: skip
        original = pilot.app.screen
        assert isinstance(original, LogPager) and original.detail.log.id == ORIGINAL
        assert original.check_action("open_original", ()) is None  # the original is no replay
        await pilot.press("q")
        await until(pilot, lambda: pilot.app.screen.query(LogsView), what="back to Logs")
        assert view.selected is not None and view.selected.id == ORIGINAL


async def test_o_in_the_logs_table_opens_the_original(console, store: Store) -> None:
    await LogWriter(store, lambda a, g: None).write([REPLAY], [])
    async with console().run_test(size=(80, 24)) as pilot:
        await _replay_in_logs(pilot)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(pilot.app.screen, LogPager), what="the original's pager")
        assert pilot.app.screen.detail.log.id == ORIGINAL


async def test_live_marks_a_replay_row(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        live = pilot.app.screen.query_one(LiveView)
        await live.catch_up()
        pilot.app.feed.push(REPLAY)
        await until(pilot, lambda: "↻ c" in screen_text(pilot.app), what="the marked row")
        [line] = [line for line in screen_text(pilot.app).splitlines() if "↻" in line]
        assert line.startswith("03:20:00 anthropic") and "200" in line
