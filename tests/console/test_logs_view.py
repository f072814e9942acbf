"""The Logs view through the real store: pages, filter (errors, history), detail, feedback, score,
delete with confirmation, datasets, the gateway switcher and a failing store.

Each test is a short operator session (starting the App costs more than the steps in it).
"""

from __future__ import annotations

from proxy_core.events import EventBus
from proxy_core.services import Services
from proxy_core.store.filters import parse_text

from console.dialogs import ChoiceDialog, ConfirmDialog, ScoreDialog, TextDialog
from console.views.logs import LogsView
from console.widgets.filter_bar import FilterBar
from tests.console.conftest import NOW, log_row
from tests.console.helpers import said, screen_text, until

DEFAULT_LOGS = 67  # 60 recent + 6 old + 1 hostile, in the default gateway


async def open_logs(pilot) -> LogsView:  # noqa: ANN001 - a Pilot
    await pilot.press("2")
    view = pilot.app.screen.query_one(LogsView)
    await until(pilot, lambda: view.total is not None and view.table.row_count > 0, what="the first page")
    return view


async def apply_filter(pilot, view: LogsView, text: str) -> None:  # noqa: ANN001
    await pilot.press("slash")
    view.query_one(FilterBar).input.value = text
    generation = view._generation
    await pilot.press("enter")
    await until(pilot, lambda: view._generation > generation and not view._loading, what=f"filter {text!r}")


async def test_pages_filter_errors_and_history(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        assert (view.total, view.table.row_count) == (DEFAULT_LOGS, 50)
        assert "67 logs" in screen_text(pilot.app) and "page 1/2" in screen_text(pilot.app)

        await pilot.press("pagedown")
        await until(pilot, lambda: view.page == 2 and not view._loading, what="page 2")
        assert view.table.row_count == DEFAULT_LOGS - 50 and view.total == DEFAULT_LOGS
        times = [str(view.table.get_cell(log_id, "time")) for log_id in view.records]
        assert times[0] == "03:19:10" and times[-1].startswith("Nov 26 ")  # older than today: the date shows
        await pilot.press("pagedown")  # there is no page 3
        assert view.page == 2
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: view.page == 1 and view.table.row_count == 50, what="page 1")

        await apply_filter(pilot, view, "provider:anthropic")
        assert view.total == 10 and {r.provider for r in view.records.values()} == {"anthropic"}
        assert view.table.has_focus

        await pilot.press("slash")
        bar = view.query_one(FilterBar)
        bar.input.value = "provider:openai cost>abc"
        await pilot.press("enter")
        await pilot.pause()
        assert bar.has_class("-error") and bar.error is not None and bar.error.position is not None
        error_line = str(bar.query_one(".filter-error").render())
        assert error_line.index("^") == len("filter › ") + bar.error.position  # the caret under 'cost'
        assert view.total == 10  # the bad filter was not applied

        await apply_filter(pilot, view, "status:error")
        assert not bar.has_class("-error") and view.total == 5
        bar.input.value = ""
        await pilot.press("slash", "up")
        assert bar.input.value == "status:error"
        await pilot.press("up")
        assert bar.input.value == "provider:anthropic"
        await pilot.press("down", "down")
        assert bar.input.value == ""
        assert pilot.app.prefs.prefs.filter_history[-2:] == ["provider:anthropic", "status:error"]


async def test_thumbs_and_score_are_saved_at_once(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        record = view.selected
        assert record is not None and record.feedback == 0
        await pilot.press("plus")
        await until(pilot, lambda: view.records[record.id].feedback == 1, what="thumbs up")
        assert (await services.logs.get("default", record.id)).feedback == 1
        assert str(view.table.get_cell(record.id, "feedback")).startswith("+")
        await pilot.press("minus")
        await until(pilot, lambda: view.records[record.id].feedback == -1, what="thumbs down")
        await pilot.press("0")
        await until(pilot, lambda: view.records[record.id].feedback == 0, what="no rating")
        assert (await services.logs.get("default", record.id)).feedback == 0

        await pilot.press("s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ScoreDialog), what="the score dialog")
        await pilot.press("1", "0", "1", "enter")  # typed: 101 is refused, the dialog stays
        assert isinstance(pilot.app.screen, ScoreDialog)
        pilot.app.screen.query_one("#score").value = "10"
        await pilot.press("enter")
        await until(pilot, lambda: view.records[record.id].score == 10, what="score 10")
        assert (await services.logs.get("default", record.id)).score == 10
        assert str(view.table.get_cell(record.id, "feedback")).strip() == "10"
        await pilot.press("s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ScoreDialog))
        await pilot.press("escape")  # cancelled: nothing changes
        await pilot.press("s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ScoreDialog))
        await pilot.click("#clear")
        await until(pilot, lambda: view.records[record.id].score is None, what="score cleared")
        assert (await services.logs.get("default", record.id)).score is None


async def test_dataset_from_the_filter_then_delete_with_confirmation(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        await apply_filter(pilot, view, "provider:google-ai-studio")
        assert view.total == 10

        await pilot.press("n")
        await until(pilot, lambda: isinstance(pilot.app.screen, TextDialog), what="the name dialog")
        pilot.app.screen.query_one("#text").value = "gemini"
        await pilot.press("enter")
        await until(pilot, lambda: any("Dataset 'gemini'" in n.message for n in said(pilot.app)))
        [dataset] = (await services.datasets.list("default")).items
        assert dataset.name == "gemini" and dataset.filter == parse_text("provider:google-ai-studio")

        await pilot.press("D")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
        assert "Delete 10 logs" in screen_text(pilot.app)
        await pilot.press("enter")  # the focus starts on Cancel
        assert await services.logs.count("default", dataset.filter) == 10
        await pilot.press("D")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        await pilot.click("#confirm")
        await until(pilot, lambda: view.total == 0 and not view._loading, what="the deletion")
        assert await services.logs.count("default", dataset.filter) == 0
        assert await services.logs.count("default", parse_text("")) == DEFAULT_LOGS - 10
        [audited] = [r for r in (await services.audit.list()).items if r.resource_type == "logs"]
        assert (audited.action, audited.resource_id, audited.actor, audited.interface) == (
            "delete", "default", "operator", "console")  # fmt: skip
        assert audited.old_value == {"filter": "provider:google-ai-studio", "limit": None, "deleted": 10}
        await pilot.press("D")  # nothing left to delete: no dialog
        assert not isinstance(pilot.app.screen, ConfirmDialog)


async def test_detail_newer_logs_and_gateway_switch(console, bus: EventBus) -> None:
    async with console().run_test(size=(150, 40)) as pilot:
        view = await open_logs(pilot)
        assert view.has_class("-wide")  # the detail sits beside the table
        await apply_filter(pilot, view, "provider:anthropic")
        await until(pilot, lambda: view.detail_pane.detail is not None, what="the detail")
        text = screen_text(pilot.app)
        assert "Streamed answer" in text  # SSE reassembled
        assert "You are terse." in text and "Question" in text and "[REDACTED]" in text

        bus.publish(log_row(900, NOW + 5, provider="anthropic"))
        bus.publish(log_row(901, NOW + 6, provider="openai"))  # does not match the filter
        await until(pilot, lambda: "▲ 1 newer (r shows)" in screen_text(pilot.app), what="the newer count")
        await pilot.press("r")
        await until(pilot, lambda: view._newer == 0 and not view._loading)

        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog), what="the switcher")
        await pilot.press("down", "enter")  # default, staging
        await until(pilot, lambda: view.gateway_id == "staging" and not view._loading, what="the staging gateway")
        await apply_filter(pilot, view, "")
        assert view.total == 8
        assert pilot.app.proxy_url == "http://127.0.0.1:8787/v1/local/staging"
        assert "v1/local/staging" in screen_text(pilot.app)


async def test_a_failing_store_becomes_a_notification(console, services: Services, monkeypatch) -> None:
    async def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("database is locked")

    async with console().run_test(size=(80, 24)) as pilot:
        view = await open_logs(pilot)
        monkeypatch.setattr(services.logs, "list", broken)
        monkeypatch.setattr(services.logs, "annotate", broken)
        await pilot.press("r", "plus")
        await until(pilot, lambda: sum("database is locked" in n.message for n in said(pilot.app)) == 2)
        assert pilot.app.is_running and view.table.row_count == 50
