"""One key map across the console: ``q`` / escape back out, ``/`` searches views 3–6 (the audit
log too), ``j``/``k``/``g``/``G`` everywhere, view 6's tabs in the footer and on ←/→, help grouped
by where keys apply with each key once, ``ctrl+d`` deleting in the filter and detaching elsewhere."""

from __future__ import annotations

from textual.widgets import DataTable, Tabs

from console.dialogs import ConfirmDialog
from console.help_screen import HelpScreen
from console.views.gateways import GatewaysView
from console.views.guardrails import GuardrailsView
from console.views.live import LiveView
from console.views.logs import LogsView
from console.widgets.filter_bar import FilterBar
from console.widgets.table_search import TableSearch
from tests.console.helpers import said, screen_text, until


async def test_q_and_escape_go_back_through_the_views_shown(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.press("5")
        await until(pilot, lambda: pilot.app.current_mode == "guardrails")
        await pilot.press("q")
        await until(pilot, lambda: pilot.app.current_mode == "analytics", what="back to Analytics")
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.current_mode == "live", what="back to Live")
        await pilot.press("q")  # nothing left to go back to: it says how to leave, and stays
        await until(pilot, lambda: any("Nothing to go back to" in s.message for s in said(pilot.app)), what="the hint")
        assert pilot.app.is_running and pilot.app.current_mode == "live"

        await pilot.press("slash")  # in Live escape leaves the filter first
        live = pilot.app.screen.query_one(LiveView)
        assert live.query_one(FilterBar).input.has_focus
        await pilot.press("escape")
        assert live.tail.has_focus and pilot.app.current_mode == "live"

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        await pilot.press("q")
        await until(pilot, lambda: not isinstance(pilot.app.screen, HelpScreen), what="help closed")


async def test_j_k_g_G_and_search_in_the_guardrails_table(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        view = pilot.app.screen.query_one(GuardrailsView)
        table = view.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 14, what="the categories")
        await pilot.press("G")
        assert table.cursor_row == 13
        await pilot.press("g", "j", "j", "k")
        assert table.cursor_row == 1
        await pilot.press("slash")
        search = pilot.app.screen.query_one(TableSearch)
        assert search.input.has_focus
        await pilot.press(*"crimes")  # S1, S2, S3: from the cursor on
        assert table.cursor_row == 1 and search.matches == [0, 1, 2]
        assert "2/3" in screen_text(pilot.app)
        await pilot.press("enter")
        assert table.cursor_row == 2
        await pilot.press("down")  # wraps
        assert table.cursor_row == 0
        await pilot.press("up")
        assert table.cursor_row == 2
        await pilot.press("escape")
        assert table.has_focus and table.cursor_row == 2 and not search.has_class("-open")


async def test_view_6_tabs_arrows_and_audit_search(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        view = pilot.app.screen.query_one(GatewaysView)
        tabs = view.query_one(Tabs)
        await until(pilot, lambda: tabs.active == "tab-settings")
        footer = screen_text(pilot.app).splitlines()[-1]
        assert "soa Tabs ←→" in footer and "? Help" in footer
        await pilot.press("right")
        await until(pilot, lambda: tabs.active == "tab-tokens", what="→ tokens")
        await pilot.press("right")
        await until(pilot, lambda: tabs.active == "tab-audit", what="→ audit log")
        await pilot.press("right")
        await until(pilot, lambda: tabs.active == "tab-settings", what="→ wraps to settings")
        await pilot.press("left")
        await until(pilot, lambda: tabs.active == "tab-audit", what="← audit log")
        audit = view.query_one("#gateway-audit", DataTable)
        await until(pilot, lambda: audit.row_count > 0 and audit.has_focus, what="the audit records")
        await pilot.press("slash", *"staging")  # the seeded store created gateway staging
        search = pilot.app.screen.query_one(TableSearch)
        assert search.matches, "the audit log is searchable"
        assert "staging" in " ".join(str(cell) for cell in audit.get_row_at(audit.cursor_row))
        await pilot.press("o")  # typed into the search line, not the Tokens tab
        assert tabs.active == "tab-audit" and search.input.value == "stagingo"
        await pilot.press("escape", "o")
        await until(pilot, lambda: tabs.active == "tab-tokens", what="o: tokens")


async def test_help_groups_keys_by_where_they_apply_each_once(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        view = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: view.table.row_count > 0)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        sections = dict(pilot.app.screen.sections)
        # "Every view" is left out: Logs takes / for its filter and its table takes j/k/g/G
        assert list(sections) == ["Logs", "Filter bar (while typing)", "Logs table", "Everywhere"]
        rows = [row for heading in sections for row in sections[heading]]
        descriptions = [description for _keys, description, _tip in rows]
        assert "Cursor up" not in descriptions and "Scroll Left" not in descriptions  # Textual's own keys
        assert len(rows) == len({(keys, description) for keys, description, _tip in rows})
        keys = [k for keys, _d, _t in rows for k in keys.split("/")]
        assert len(keys) == len(set(keys)) or keys.count("esc") <= 1
        logs = {description: keys for keys, description, _t in sections["Logs"]}
        assert logs["Good"] == "+" and logs["Bad"] == "-" and logs["Zoom"] == "z" and logs["Follow"] == "f"
        table = {description: keys for keys, description, _t in sections["Logs table"]}
        assert table["Newest"] == "home/g" and table["Oldest on page"] == "end/G" and table["Down"] == "j"
        everywhere = {description: keys for keys, description, _t in sections["Everywhere"]}
        assert everywhere["Back"] == "q" and everywhere["Gateway"] == "^g"
        assert {d for _k, d, _t in sections["Filter bar (while typing)"]} >= {"Delete character", "Older filter"}


async def test_ctrl_d_deletes_in_the_filter_and_detaches_elsewhere(console) -> None:
    async with console(on_detach=lambda: None).run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        view = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: view.table.row_count > 0)
        await pilot.press("slash")
        field = view.query_one(FilterBar).input
        field.value = "xprovider:openai"
        field.cursor_position = 0
        await pilot.press("ctrl+d")
        assert field.value == "provider:openai" and not isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("escape")
        assert view.table.has_focus
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the detach question")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(pilot.app.screen, ConfirmDialog))
        assert pilot.app.is_running


async def test_help_in_a_view_without_its_own_filter_lists_the_shared_keys(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        await pilot.press("5", "question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        sections = dict(pilot.app.screen.sections)
        assert list(sections)[-3:] == ["Search line (after /)", "Every view", "Everywhere"]
        shared = {description: keys for keys, description, _t in sections["Every view"]}
        assert shared == {"Search": "/", "Down": "j", "Up": "k", "First": "g", "Last": "G"}
