"""GuardrailsView: actions picked from a menu (one save, one audit entry), confirmations for what stops
protection, the hit counters and the jump to a category's hits in Logs; snapshots."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, OptionList, Static, Switch

from console.dialogs import ChoiceDialog, ConfirmDialog
from console.views.guardrails import GuardrailsView
from proxy_core.store.logwriter import LogWriter
from tests.console.views_harness import (
    NOW, ViewHarness, fixed_clock, log_row, make_services, open_seeded_store, settle, wait_until,
)
from tests.console.helpers import said


def _unreachable() -> tuple[str, str]:
    return ("llama-guard", "unreachable: connection refused")


def _dialog_says(app) -> str:
    """The open dialog's words, one space apart (however the box wraps them)."""
    return " ".join(" ".join(str(widget.render()) for widget in app.screen.query(Static)).split())


def _view(services, **kwargs) -> GuardrailsView:
    return GuardrailsView(services, "default", clock=fixed_clock, **kwargs)


async def test_actions_are_picked_from_a_menu_saved_once_and_risky_changes_ask(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        services = make_services(store)
        app = ViewHarness(lambda s: _view(s, evaluator_status=_unreachable), services=services)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            evaluator = app.screen.query_one("#guardrails-evaluator", Static)
            assert "llama-guard · unreachable: connection refused" in str(evaluator.render())
            table = app.screen.query_one("#guardrails-table", DataTable)
            assert table.row_count == 14
            assert str(table.get_cell("S1", "prompt")) == "flag"

            # S2 prompts: flag → block, picked from the menu: one save, one audit entry
            await pilot.press("down", "p")
            await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            menu = str(app.screen.query_one(OptionList).get_option_at_index(2).prompt)
            assert menu.startswith("block") and "refused with error 2016" in menu
            await pilot.press("down", "down", "enter")
            await settle(pilot)
            stored = (await services.gateways.get("default")).guardrails
            assert stored["prompt"]["S2"] == "block" and stored["prompt"]["S1"] == "flag"
            assert str(table.get_cell("S2", "prompt")) == "block"
            assert len((await services.audit.list()).items) == 1  # no flag → ignore → block steps

            # S2 responses to ignore: asks first, saying what it does; "n" changes nothing
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert "Responses in S2 Non-violent crimes are no longer checked" in _dialog_says(app)
            assert "neither flagged nor blocked (now: flag)" in _dialog_says(app)
            await pilot.press("n")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["response"]["S2"] == "flag"
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["response"]["S2"] == "ignore"

            # on at once; off only after confirming (by key and through the Switch widget)
            await pilot.press("e")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["enabled"] is True
            assert app.screen.query_one(Switch).value is True
            assert "refused while a category is on block" in str(evaluator.render())  # S2 blocks prompts
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert "no longer checked: nothing is flagged or blocked" in _dialog_says(app)
            await pilot.press("n")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["enabled"] is True
            assert app.screen.query_one(Switch).value is True  # the switch shows what is stored
            await pilot.click("#guardrails-switch")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["enabled"] is False
            audit = (await services.audit.list()).items
            assert len(audit) == 4  # block, ignore, on, off: one entry per decision
            assert all(r.interface == "console" and r.actor == "operator" for r in audit)
            assert {r.action for r in audit} == {"update"} and {r.resource_id for r in audit} == {"default"}

            # a refused change (the gateway is gone): a notification, and the view carries on
            view = app.screen.query_one(GuardrailsView)
            await services.gateways.delete("default", services_actor())
            await pilot.press("p")
            await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.press("up", "up", "enter")  # S2 prompts back to flag
            await settle(pilot)
            assert any("not found" in n.message for n in said(app))
            view.set_gateway("default")  # no-op: same gateway; nothing crashes
    finally:
        await store.close()


def _hits_rows() -> list[dict]:
    def verdict(action: str, **actions: str) -> dict:
        return {"action": action, "categories": [c for c, a in actions.items() if a != "ignore"], "evaluated": True,
                "actions": actions}  # fmt: skip

    return [
        log_row(1, NOW - 60_000, guardrails=verdict("blocked", S1="block"), status_code=400, success=False),
        log_row(2, NOW - 120_000, guardrails=verdict("flagged", S10="flag")),
        log_row(3, NOW - 5 * 3_600_000, guardrails=verdict("flagged", S10="flag")),
        log_row(4, NOW - 6 * 3_600_000, guardrails=verdict("blocked", S1="block", S10="flag"), status_code=400,
                success=False),  # fmt: skip
    ]


async def test_hit_counters_per_category_and_enter_opens_the_hits_in_logs(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        await LogWriter(store, lambda a, g: None).write(_hits_rows(), [])
        services = make_services(store)
        shown: list[tuple[str, str]] = []
        app = ViewHarness(lambda s: _view(s), services=services)

        async def show_logs(gateway_id: str, filter_text: str) -> None:
            shown.append((gateway_id, filter_text))

        app.show_logs = show_logs  # what the console's shell offers the view
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#guardrails-table", DataTable)
            assert [str(table.get_cell("S1", c)) for c in ("hour", "day")] == ["1 (1 blk)", "2 (2 blk)"]
            assert [str(table.get_cell("S10", c)) for c in ("hour", "day")] == ["1", "3"]
            assert [str(table.get_cell("S5", c)) for c in ("hour", "day")] == ["·", "·"]
            view = app.screen.query_one(GuardrailsView)
            assert view.hits is not None and view.hits["S10"].day_flagged == 3
            await pilot.press("enter")
            await settle(pilot)
            assert shown == [("default", "category:S1 since:24h")]
    finally:
        await store.close()


def services_actor():
    from proxy_core.services import Actor

    return Actor("test", "CLI")


def _snapshot_app(tmp_path: Path) -> ViewHarness:
    async def setup():
        services = make_services(await open_seeded_store(tmp_path / "snap.db", logs=False))
        policy = {"enabled": True, "prompt": {"S1": "block", "S9": "block", "S13": "ignore"},
                  "response": {"S4": "block", "S14": "ignore"}}  # fmt: skip
        await services.gateways.update("default", {"guardrails": policy}, services_actor())
        await LogWriter(services.store, lambda a, g: None).write(_hits_rows(), [])
        return services

    return ViewHarness(
        lambda s: _view(s, evaluator_status=lambda: ("llama-guard-3-8b (vllm)", "healthy")), setup=setup
    )


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_snapshot_200x60(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(200, 60), run_before=settle)


def _dialog_snapshot(tmp_path: Path, keys: tuple[str, ...], kind: type):  # noqa: ANN202 - a run_before
    async def run_before(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        await pilot.press(*keys)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen.is_mounted)
        await pilot.pause()

    return run_before


def test_snapshot_action_menu_80x24(snap_compare, tmp_path: Path) -> None:
    """The prompt action of S1, picked from a menu that says what each action does."""
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24),
                        run_before=_dialog_snapshot(tmp_path, ("p",), ChoiceDialog))  # fmt: skip


def test_snapshot_ignore_asks_first_80x24(snap_compare, tmp_path: Path) -> None:
    """Putting a category on ignore asks first, stating the effect."""
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24),
                        run_before=_dialog_snapshot(tmp_path, ("r", "down", "enter"), ConfirmDialog))  # fmt: skip


def test_snapshot_guardrails_off_asks_first_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24),
                        run_before=_dialog_snapshot(tmp_path, ("e",), ConfirmDialog))  # fmt: skip
