"""The App: modes on number keys, header, help, themes remembered, NO_COLOR, leaving, hostile content,
what the shell hands the views (export directory, evaluator status) and its gateway list."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest
from textual.widgets import Input, OptionList, Static

from console.app import DETACH, QUIT
from console.link import evaluator_probe
from console.dialogs import ChoiceDialog, ConfirmDialog
from console.help_screen import HelpScreen
from console.view_screen import ViewScreen
from console.views import VIEWS
from console.views.analytics import AnalyticsView
from console.views.datasets import DatasetsView
from console.views.gateways import GatewaysTable, GatewaysView
from console.views.guardrails import GuardrailsView
from console.views.live import LiveView
from console.views.logs import LogsView
from console.widgets.gateways_dialogs import GatewayDialog
from console.widgets.key_footer import KeyFooter
from console.widgets.log_detail import LogDetailPane
from tests.console.conftest import EVIL_PROMPT
from tests.console.helpers import said, screen_text, until


def test_views_registry_order() -> None:
    assert [(v.key, v.title) for v in VIEWS] == [
        ("1", "Live"), ("2", "Logs"), ("3", "Analytics"), ("4", "Datasets & Evaluations"), ("5", "Guardrails"),
        ("6", "Gateways & Settings"),
    ]  # fmt: skip


async def test_views_header_palette_and_help(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        assert app.current_mode == "live" and app.screen.query(LiveView)
        header = screen_text(app).splitlines()[0]
        assert header.startswith(" 1 Live ") and "http://127.0.0.1:8787/v1/local/default" in header  # 80 columns: no "aigw ▸"

        await pilot.press("2")
        assert app.current_mode == "logs"
        assert isinstance(app.screen, ViewScreen) and app.screen.query(LogsView)
        assert screen_text(app).startswith(" 2 Logs ")

        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "View: Live" in titles and "View: Analytics" in titles and "Theme: aigw-light" in titles
        assert titles.count("Theme") == 1 and "Next theme" in titles  # Textual's picker once, t apart
        assert "Good" in titles and "Dataset" in titles and "Zoom" in titles  # the view's own actions too
        assert "Cursor up" not in titles  # Textual's generic widget keys are not actions of ours

        await pilot.press("u")
        assert app.clipboard == "http://127.0.0.1:8787/v1/local/default"
        assert any("Copied" in n.message for n in said(app))

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        sections = dict(app.screen.sections)
        view_keys = {d for _k, d, _t in sections["Logs"]}
        assert {"Filter", "Good", "Bad", "No rating", "Score", "Zoom", "Follow", "Dataset", "Delete…", "Next",
                "Previous"} <= view_keys  # fmt: skip
        everywhere = {d for _k, d, _t in sections["Everywhere"]}
        assert {"Live", "Logs", "Analytics", "Help", "Gateway", "Copy URL", "Next theme", "Quit", "Detach"} <= everywhere
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        await pilot.press("1")
        assert app.current_mode == "live"


async def test_theme_switch_is_remembered(console, tmp_path: Path) -> None:
    prefs = tmp_path / "console-prefs.json"
    async with console().run_test(size=(80, 24)) as pilot:
        assert pilot.app.theme == "aigw-dark"
        assert {"aigw-dark", "aigw-light", "aigw-high-contrast"} <= set(pilot.app.available_themes)
        await pilot.press("t")
        assert pilot.app.theme != "aigw-dark"
        chosen = pilot.app.theme
    assert orjson.loads(prefs.read_bytes())["theme"] == chosen
    async with console().run_test(size=(80, 24)) as pilot:
        assert pilot.app.theme == chosen


async def test_no_color_and_no_animations(console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = console()
    assert app.no_color  # Textual then renders in monochrome (the no-colour snapshot shows it)
    assert app.animation_level == "none"


async def test_detach_asks_then_calls_back(console) -> None:
    detached = []
    app = console(on_detach=lambda: detached.append(True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
        await pilot.press("enter")  # Detach is not destructive: it has the focus
    assert detached == [True] and app.return_value == DETACH


async def test_quit_asks_when_it_would_stop_the_gateway(console) -> None:
    app = console(on_detach=lambda: None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
        await pilot.press("escape")
        assert pilot.app.is_running
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog))
        await pilot.click("#confirm")
    assert app.return_value == QUIT


async def test_quit_dialog_answers_every_key_it_shows(console) -> None:
    """``n`` cancels, ``y`` quits, and enter presses the focused button (Cancel first, Quit after ←)."""
    for keys, outcome in ((("n",), None), (("y",), QUIT), (("enter",), None), (("left", "enter"), QUIT)):
        app = console(on_detach=lambda: None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
            assert "Quit (y)" in screen_text(pilot.app) and "Cancel (n)" in screen_text(pilot.app)
            await pilot.press(*keys)
            if outcome is None:
                await until(pilot, lambda: not isinstance(pilot.app.screen, ConfirmDialog), what="the dialog closed")
                assert pilot.app.is_running, keys
                await pilot.press("1")  # the console still answers keys
                assert pilot.app.current_mode == "live"
        assert app.return_value == outcome, keys


async def test_attached_console_quits_at_once_and_cannot_detach(console) -> None:
    app = console(on_detach=lambda: None, attached=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "attached" in screen_text(pilot.app).splitlines()[0]
        assert app.check_action("detach", ()) is None
        await pilot.press("ctrl+q")
    assert app.return_value == QUIT


async def test_hostile_log_content_renders_literally(console) -> None:
    async with console().run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        logs = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: logs.total is not None)
        logs.query_one("#filter-input").value = "meta.user~mallory"
        await pilot.press("slash", "enter")
        await until(pilot, lambda: logs.total == 1 and logs.detail_pane.detail is not None, what="the hostile log")
        text = screen_text(pilot.app)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "␛[31mred␛[0m [bold]not bold[/bold] ␇bell" in text  # shown, not obeyed
        assert "[link=http://x]click[/link] ␛[5mblink" in text
        assert "[red]mallory[/red]" in text
        assert "evil␛[2Jmodel" in text
        body = str(logs.detail_pane.query_one("#log-detail-body").render())
        assert EVIL_PROMPT not in body
        assert isinstance(logs.detail_pane, LogDetailPane)


async def test_log_detail_says_which_worker_served_the_log(console) -> None:
    async with console().run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        logs = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: logs.detail_pane.detail is not None, what="a log's detail")
        shown = logs.detail_pane.detail
        assert shown.log.worker_id is None and "served by" not in screen_text(pilot.app)  # one process: nothing
        logs.detail_pane.show(dataclasses.replace(shown, log=dataclasses.replace(shown.log, worker_id="w2")))
        await pilot.pause()
        assert "served by w2" in screen_text(pilot.app)


class FakeEvaluator:
    """Stands in for the gateway's guardrails evaluator (``name`` and ``health()``)."""

    name = "llama-guard"

    def __init__(self) -> None:
        self.healthy = True

    async def health(self) -> tuple[bool, str]:
        return (True, "ok") if self.healthy else (False, "connection refused")


async def test_shell_hands_views_export_dir_evaluator_status_and_user_themes(console, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "themes").mkdir(parents=True)
    (data / "themes" / "mine.toml").write_text('name = "mine"\ndark = true\nprimary = "#336699"\n')
    (data / "themes" / "broken.toml").write_text('name = "broken"\nprimary = "#12"\n')
    evaluator = FakeEvaluator()
    app = console(data_dir=data, evaluator_status=evaluator_probe(evaluator))
    assert app.export_dir == data and "mine" in app.console_themes and "broken" not in app.console_themes
    assert console(prefs_path=None).export_dir is None  # nothing known: exports go to the working directory
    async with app.run_test(size=(100, 30)) as pilot:
        assert any(n.title == "Theme file skipped" and "broken.toml" in n.message for n in said(app))
        await pilot.press("4")
        assert app.screen.query_one(DatasetsView).export_dir == data
        await pilot.press("5")
        status = app.screen.query_one("#guardrails-evaluator", Static)
        await until(pilot, lambda: "llama-guard · healthy" in str(status.render()), what="the evaluator's health")
        evaluator.healthy = False
        app.screen.query_one(GuardrailsView).refresh_data()
        await until(pilot, lambda: "unreachable: connection refused" in str(status.render()), what="the outage")


async def test_gateway_created_in_view_6_is_offered_everywhere_and_a_deleted_one_is_left(console) -> None:
    async with console().run_test(size=(100, 30)) as pilot:
        app = pilot.app
        await until(pilot, lambda: set(app.gateway_ids) == {"default", "staging"}, what="the gateway list")
        await pilot.press("6")
        gateways = app.screen.query_one(GatewaysView)
        await until(pilot, lambda: gateways.query_one(GatewaysTable).row_count == 2, what="the gateways")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, GatewayDialog), what="the new-gateway dialog")
        app.screen.query_one(Input).value = "eu-west"
        await pilot.press("enter")
        await until(pilot, lambda: "eu-west" in app.gateway_ids, what="the shell's list to follow")

        await pilot.press("3")
        await pilot.press("ctrl+g")  # the gateway picker, from any view (g is "first row" everywhere)
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="the gateway picker")
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert sorted(ids) == ["default", "eu-west", "staging"]
        options.highlighted = ids.index("eu-west")
        await pilot.press("enter")
        await until(pilot, lambda: app.gateway_id == "eu-west", what="the choice")
        assert app.screen.query_one(AnalyticsView).gateway_id == "eu-west"
        await pilot.press("5")
        await until(pilot, lambda: app.screen.query_one(GuardrailsView).gateway_id == "eu-west", what="view 5")

        # deleting the gateway on show in view 6: every view goes back to the default one
        await pilot.press("6")
        await until(pilot, lambda: gateways.selected == "eu-west", what="eu-west selected")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation")
        await pilot.click("#confirm")
        await until(pilot, lambda: app.gateway_id == "default", what="the default gateway")
        assert "eu-west" not in app.gateway_ids
        assert any("eu-west is gone" in n.message for n in said(app))
        await pilot.press("3")
        assert app.screen.query_one(AnalyticsView).gateway_id == "default"


async def test_footer_keys_follow_the_view_and_a_click_presses_one(console) -> None:
    async with console().run_test(size=(100, 30)) as pilot:
        app = pilot.app
        footer = screen_text(app).splitlines()[-1]
        assert "space Pause" in footer and "123456 Views" in footer and "? Help" in footer and "^p palette" in footer
        await pilot.press("space")  # the binding changes: the same footer widget redraws its line
        assert "space Resume" in screen_text(app).splitlines()[-1]
        await pilot.press("space")
        footer_widget = app.screen.query_one(KeyFooter)
        x = screen_text(app).splitlines()[-1].index("123456") + 2  # the "3"
        await pilot.click(footer_widget, offset=(x, 0))
        await until(pilot, lambda: app.current_mode == "analytics", what="the click on 3")
        footer = screen_text(app).splitlines()[-1]
        assert "123456 Views" in footer and "r Range" in footer  # the current view's key is dimmed


async def test_bound_keys_never_steal_typing(console) -> None:
    """Keys are looked up as bindings before they travel to the focused widget only when nothing
    on the way takes keys itself: in a filter input, digits and space are text."""
    async with console().run_test(size=(100, 30)) as pilot:
        app = pilot.app
        view = app.screen.query_one(LiveView)
        await pilot.press("slash", "m", "space", "2")
        assert app.screen.query_one(LiveView).query_one(Input).value == "m 2"
        assert app.current_mode == "live" and not view.paused
        await pilot.press("escape")  # back on the tail: the same keys are bindings again
        await pilot.press("space")
        assert view.paused
        await pilot.press("2")
        assert app.current_mode == "logs"
