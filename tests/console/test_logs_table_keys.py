"""The Logs table does what the operator sees: actions on the highlighted row, the detail following
it after a filter is cleared, j/k/g/G/Home/End, newer logs signalled and shown, follow newest."""

from __future__ import annotations

from proxy_core.events import EventBus
from proxy_core.services import Services
from proxy_core.store.engine import Store
from proxy_core.store.logwriter import LogWriter

from console.views.logs import LogsView
from console.widgets.filter_bar import FilterBar
from tests.console.conftest import NOW, log_row
from tests.console.helpers import screen_text, until


async def open_logs(pilot) -> LogsView:  # noqa: ANN001 - a Pilot
    await pilot.press("2")
    view = pilot.app.screen.query_one(LogsView)
    await until(pilot, lambda: view.table.row_count > 0 and view.detail_pane.detail is not None, what="the first page")
    return view


def detail_id(view: LogsView) -> str | None:
    detail = view.detail_pane.detail
    return detail.log.id if detail is not None else None


async def filter_to(pilot, view: LogsView, text: str) -> None:  # noqa: ANN001
    await pilot.press("slash")
    view.query_one(FilterBar).input.value = text
    await pilot.press("enter")
    await until(pilot, lambda: view.filter_text == text and view.table.row_count > 0 and
                detail_id(view) == view.table.cursor_log_id, what=f"filter {text!r} and its detail")  # fmt: skip


async def test_keys_move_and_actions_rate_the_highlighted_row(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        table = view.table
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0

        await filter_to(pilot, view, "provider:anthropic")
        await pilot.press("j", "j", "j")
        await until(pilot, lambda: detail_id(view) == table.cursor_log_id, what="the detail of row 3")
        await filter_to(pilot, view, "")  # cleared: the detail follows the highlighted row
        highlighted = table.cursor_log_id
        assert highlighted is not None and detail_id(view) == highlighted
        assert highlighted in view.records and table.cursor_row >= 0
        await pilot.press("plus")
        await until(pilot, lambda: view.records[highlighted].feedback == 1, what="thumbs up on the highlighted row")
        assert (await services.logs.get("default", highlighted)).feedback == 1
        text = screen_text(pilot.app)
        assert "+ Good" in text and "- Bad" in text  # labels that do not read as navigation


async def test_newer_logs_are_signalled_then_shown_and_followed(console, store: Store, bus: EventBus) -> None:
    writer = LogWriter(store, lambda a, g: None)

    async def arrive(n: int, at: int) -> str:
        row = log_row(n, at, model=f"new-model-{n}")
        await writer.write([row], [])
        bus.publish(row)
        return row["id"]

    async with console().run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        await pilot.press("j", "j")
        newest = await arrive(900, NOW + 5_000)
        await until(pilot, lambda: "▲ 1 newer (r shows)" in screen_text(pilot.app), what="the newer count")
        assert view.table.cursor_row == 2 and newest not in view.records
        await pilot.press("g")  # g / Home shows them: page 1, the newest highlighted
        await until(pilot, lambda: view.table.cursor_log_id == newest, what="the newest log highlighted")
        assert view.table.cursor_row == 0 and "newer" not in screen_text(pilot.app)
        await until(pilot, lambda: detail_id(view) == newest, what="its detail")

        await pilot.press("f")
        await until(pilot, lambda: "following newest (f stops)" in screen_text(pilot.app), what="follow on")
        following = await arrive(901, NOW + 6_000)
        await until(pilot, lambda: view.table.cursor_log_id == following, what="the page follows the newest")
        assert view.following and view.table.cursor_row == 0
        await until(pilot, lambda: detail_id(view) == following, what="the detail follows")
        await pilot.press("j")  # moving off the newest stops following
        await until(pilot, lambda: not view.following, what="follow off")
        assert "following" not in screen_text(pilot.app)

        await pilot.press("k")
        await arrive(902, NOW + 7_000)
        await until(pilot, lambda: "▲ 1 newer" in screen_text(pilot.app), what="counted, not followed")
        await pilot.press("r")  # r shows them too
        await until(pilot, lambda: view.table.cursor_row == 0 and "newer" not in screen_text(pilot.app)
                    and str(view.table.get_cell(view.table.cursor_log_id, "model")).startswith("new-model-902"),
                    what="r shows the newest")  # fmt: skip
