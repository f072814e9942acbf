"""The App: modes on number keys, header, help, themes remembered, NO_COLOR, leaving, hostile content."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from textual.filter import Monochrome

from console.app import DETACH, QUIT
from console.dialogs import ConfirmDialog
from console.help_screen import HelpScreen
from console.view_screen import ViewScreen
from console.views import VIEWS
from console.views.live import LiveView
from console.views.logs import LogsView
from console.widgets.log_detail import LogDetailPane
from tests.console.conftest import EVIL_PROMPT
from tests.console.helpers import screen_text, until


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
        assert "aigw ▸ 1 Live" in header and "http://127.0.0.1:8787/v1/local/default" in header

        await pilot.press("2")
        assert app.current_mode == "logs"
        assert isinstance(app.screen, ViewScreen) and app.screen.query(LogsView)
        assert "aigw ▸ 2 Logs" in screen_text(app)

        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "View: Live" in titles and "View: Analytics" in titles and "Theme: aigw-light" in titles
        assert "Up" in titles and "Dataset" in titles  # the view's own actions too

        await pilot.press("u")
        assert app.clipboard == "http://127.0.0.1:8787/v1/local/default"
        assert any("Copied" in n.message for n in app._notifications)

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        sections = dict(app.screen._sections)
        view_keys = {d for _k, d, _t in sections["Logs"]}
        assert {"Filter", "Up", "Down", "No rating", "Score", "Dataset", "Delete…", "Next", "Previous"} <= view_keys
        everywhere = {d for _k, d, _t in sections["Everywhere"]}
        assert {"Live", "Logs", "Analytics", "Help", "Gateway", "Copy URL", "Theme", "Quit", "Detach"} <= everywhere
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
    assert app.no_color and any(isinstance(f, Monochrome) for f in app._filters)
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
