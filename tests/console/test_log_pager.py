"""The full-screen log pager (``z`` / enter in Logs): the whole log with guardrail verdicts named,
search with next/previous, moving, saving to 0600 files, and backing out."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from console.dialogs import ChoiceDialog
from console.log_pager import LogPager
from console.views.logs import LogsView
from proxy_core.services import Services, describe_guardrails
from tests.console.helpers import screen_text, until

VERDICTS = {
    "action": "blocked", "categories": ["S1", "S10"], "stage": "prompt", "evaluated": True, "evaluator": "builtin",
    "latency_ms": 3, "error": None, "actions": {"S1": "block", "S10": "flag"},
    "stages": {
        "response": {"action": "flagged", "categories": ["S7"], "evaluated": True, "evaluator": "builtin",
                     "latency_ms": 2, "error": None, "actions": {"S7": "flag", "S12": "ignore"}},
        "prompt": {"action": "blocked", "categories": ["S1", "S10"], "evaluated": True, "evaluator": "builtin",
                   "latency_ms": 1, "error": None, "actions": {"S1": "block", "S10": "flag"}},
    },
}  # fmt: skip


def test_verdicts_name_each_category_prompt_first() -> None:
    prompt, response = describe_guardrails(VERDICTS)
    assert (prompt.stage, prompt.action, response.stage, response.action) == ("prompt", "blocked", "response", "flagged")
    assert [(f.code, f.name, f.action) for f in prompt.found] == [("S1", "Violent crimes", "block"), ("S10", "Hate", "flag")]
    assert [(f.code, f.name, f.action) for f in response.found] == [("S7", "Privacy", "flag"), ("S12", "Sexual content", "ignore")]
    old_style = describe_guardrails({"action": "flagged", "categories": ["S5"], "stage": "prompt"})
    assert [(v.stage, [f.name for f in v.found]) for v in old_style] == [("prompt", ["Defamation"])]
    assert describe_guardrails(None) == ()


async def open_pager(pilot, view: LogsView) -> LogPager:  # noqa: ANN001 - a Pilot
    await pilot.press("z")
    await until(pilot, lambda: isinstance(pilot.app.screen, LogPager), what="the pager")
    pager = pilot.app.screen
    assert isinstance(pager, LogPager)
    await until(pilot, lambda: pager.body.virtual_size.height > 0, what="the pager's text")
    return pager


async def test_zoom_search_move_save_and_back(console, services: Services, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    async with console(export_dir=exports).run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        view = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: view.detail_pane.detail is not None, what="the detail")
        record = view.selected
        assert record is not None
        pager = await open_pager(pilot, view)
        assert pager.detail.log.id == record.id  # the highlighted log
        text = screen_text(pilot.app)
        assert f"Log {record.id}" in text and "── Prompt" in text and "Prompt 59: what is a gateway?" in text

        body = pager.body
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y > 0
        assert "x-request-id" in screen_text(pilot.app)  # the headers are at the end
        await pilot.press("g")
        assert body.scroll_y == 0
        await pilot.press("j", "j")
        assert body.scroll_y == 2
        await pilot.press("k")
        assert body.scroll_y == 1
        await pilot.press("pagedown")
        assert body.scroll_y > 2
        await pilot.press("home")

        await pilot.press("slash")
        assert pager.search_input.has_focus
        await pilot.press(*"GATEWAY", "enter")  # case-insensitive
        assert body.has_focus and len(body.matches) == 2  # "gateway default" and the prompt
        first = body.current
        assert first == 0 and "match 1/" in screen_text(pilot.app)
        await pilot.press("n")
        assert body.current == 1 and "match 2/" in screen_text(pilot.app)
        await pilot.press("N", "N")  # wraps to the last match
        assert body.current == len(body.matches) - 1

        await pilot.press("s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog), what="the save menu")
        await pilot.press("enter")  # the first choice: the prompt
        await until(pilot, lambda: pager.saved is not None, what="the saved prompt")
        saved = exports / f"aigw-log-{record.id}-prompt.txt"
        assert pager.saved == saved.resolve()
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert "Prompt 59: what is a gateway?" in saved.read_text() and "[user]" in saved.read_text()
        status = str(pager.query_one("#pager-status").render())
        assert status.startswith("saved ") and status.endswith(f"{record.id}-prompt.txt (0600)") and len(status) <= 78

        await pilot.press("s")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog), what="the save menu")
        await pilot.press("down", "down", "enter")  # the whole log
        whole = exports / f"aigw-log-{record.id}-log.txt"
        await until(pilot, lambda: pager.saved == whole.resolve(), what="the whole log saved")
        assert "Response headers" in whole.read_text() and stat.S_IMODE(whole.stat().st_mode) == 0o600

        await pilot.press("slash")
        await pilot.press("escape")  # escape closes the search line first
        assert pilot.app.screen is pager and body.has_focus
        await pilot.press("q")
        await until(pilot, lambda: pilot.app.screen is not pager, what="back to Logs")
        assert pilot.app.screen.query_one(LogsView) is view


async def test_guardrail_verdicts_read_with_category_names(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        view = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: view.selected is not None, what="the first page")
        selected = view.selected
        assert selected is not None
        detail = await services.logs.detail("default", selected.id)
        judged = dataclasses.replace(detail, log=dataclasses.replace(detail.log, guardrails=VERDICTS, cost=6e-08))
        pager = LogPager(judged)
        await pilot.app.push_screen(pager)
        await until(pilot, lambda: pager.body.virtual_size.height > 0, what="the pager's text")
        await pilot.press("slash", *"Guardrails", "enter")
        text = screen_text(pilot.app)
        assert "prompt    blocked · builtin, 1 ms" in text and "response  flagged · builtin, 2 ms" in text
        assert "S1   Violent crimes" in text and "block" in text and "S12  Sexual content" in text
        assert "stages" not in text and "{" not in text  # no raw JSON
        await pilot.press("g")
        assert "$0.00000006" in screen_text(pilot.app)  # never scientific


async def test_a_view_key_closes_the_pager_and_switches(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        view = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: view.detail_pane.detail is not None, what="the detail")
        record = view.selected
        assert record is not None
        pager = await open_pager(pilot, view)
        await pilot.press("1")
        await until(pilot, lambda: pilot.app.current_mode == "live", what="Live")
        assert pager not in pilot.app.screen_stack and not pilot.app.screen.query(LogPager)
        await pilot.press("2")  # Logs again, without the pager left on top of it
        await until(pilot, lambda: pilot.app.current_mode == "logs", what="Logs")
        assert pilot.app.screen.query_one(LogsView) is view and view.selected == record

        pager = await open_pager(pilot, view)
        await pilot.press("2")  # the view under the pager: the key closes the pager
        await until(pilot, lambda: pilot.app.screen is not pager, what="the pager closed")
        assert pilot.app.current_mode == "logs" and pilot.app.screen.query_one(LogsView) is view
